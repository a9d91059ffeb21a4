// Placeholder until the Profiles pages land (owned by the profiles work).

import { h } from '../dom.js';

export const routes = [
  {
    pattern: '/profiles',
    render(main) {
      main.append(h('h1', {}, 'Profiles'), h('p', { class: 'muted' }, 'The profile pages are not here yet.'));
    },
  },
];
