// Entry point: resume this tab's ticket, or start at the join screen.

import './style.css';

import { loadSession, screenHeading, show } from './app';
import { h } from './dom';
import { joinView } from './screens/join';
import { startSession } from './session';

const saved = loadSession();
if (saved) {
  // queueUpdates sends the ticket's current state first; that picks the screen.
  show({
    name: 'connecting',
    title: 'Reconnecting',
    el: h(
      'section',
      { class: 'screen', 'data-screen': 'connecting' },
      ...screenHeading('Reconnecting…'),
      h('p', { role: 'status' }, `Finding your place in line as ${saved.userId}.`),
    ),
  });
  startSession(saved);
} else {
  show(joinView());
}
