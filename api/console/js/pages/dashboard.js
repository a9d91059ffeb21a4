// Placeholder: filled in by the next commits.

import { h } from '../dom.js';

export const routes = [{ pattern: '/', render: (main) => main.append(h('h1', {}, 'Dashboard')) }];
