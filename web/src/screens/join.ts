// Join the queue with a user id.

import { request } from '../api';
import { screenHeading, type View } from '../app';
import { busy, h, setMessage } from '../dom';
import { describeError } from '../errors';
import { IssueQueueToken } from '../operations';
import { startSession } from '../session';

export function joinView(notice?: string, userId = ''): View {
  const input = h('input', {
    id: 'user-id',
    name: 'userId',
    required: true,
    autocomplete: 'username',
    maxlength: 64,
    value: userId,
    'aria-describedby': 'user-id-hint',
  });
  const button = h('button', { type: 'submit' }, 'Join the queue');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });

  const form = h(
    'form',
    {
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        const id = input.value.trim();
        if (!id) {
          setMessage(error, 'Enter your user id to join the queue.');
          input.focus();
          return;
        }
        setMessage(error, '');
        try {
          const data = await busy(button, () => request(IssueQueueToken, { userId: id }));
          const ticket = data.issueQueueToken;
          startSession({ userId: id, token: ticket.token }, ticket);
        } catch (err) {
          setMessage(error, describeError(err));
          input.focus();
        }
      },
    },
    h('label', { for: 'user-id' }, 'User id'),
    h('p', { id: 'user-id-hint', class: 'hint' }, 'Joining again with the same id keeps your place.'),
    input,
    button,
  );

  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'join' },
    ...screenHeading('Join the queue', notice),
    h(
      'p',
      {},
      'Tickets go on sale to a few people at a time. Join the line and this page lets you in when it is your turn.',
    ),
    form,
    error,
  );
  // Focus lands on the heading; a returning visitor can type at once.
  queueMicrotask(() => {
    if (!notice) input.focus();
  });
  return { name: 'join', title: 'Join the queue', el };
}
