// Placeholder: filled in by the next commits.

import { h } from '../dom.js';

export const routes = [];
