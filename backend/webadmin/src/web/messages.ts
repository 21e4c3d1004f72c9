import { html, path, type SafeHtml } from '../pages/html.js';
import { ApiError, api, withQuery } from './api.js';
import { byId, setHtml } from './dom.js';
import { badge, formatBytes, type Tone } from './format.js';
import { bootShell } from './shell.js';
import { fromLocalInput, timeHtml, toLocalInput } from './time.js';

bootShell();

interface Message {
  id: number;
  deviceId: string;
  topic?: string;
  topicKind?: string;
  receivedAt: string;
  outcome?: string;
  reason?: string | null;
  detail?: string | null;
  bytes?: number;
  payload: string;
  payloadEncoding?: 'utf8' | 'base64';
  payloadTruncated?: boolean;
}

const OUTCOME_TONE: Record<string, Tone> = {
  stored: 'ok',
  applied: 'ok',
  duplicate: 'idle',
  partial: 'warn',
  rejected: 'bad',
};

const form = byId<HTMLFormElement>('message-filter');
const rows = byId('message-rows');
const empty = byId('message-empty');
const more = byId<HTMLButtonElement>('message-more');
let next: string | undefined;

// The server hands the ISO instants over; the inputs show them in the browser's zone.
for (const name of ['from', 'to']) {
  const input = form.elements.namedItem(name) as HTMLInputElement;
  if (input.dataset.iso) input.value = toLocalInput(input.dataset.iso);
}

function query(): Record<string, string | undefined> {
  const data = new FormData(form);
  return {
    device: String(data.get('device') ?? '').trim() || undefined,
    from: fromLocalInput(String(data.get('from') ?? '')),
    to: fromLocalInput(String(data.get('to') ?? '')),
  };
}

/** The payload as text: whatever a device sent is data, never markup (html`` escapes it). */
function payloadCell(m: Message): SafeHtml {
  const text = m.payload;
  const note = html`${m.payloadEncoding === 'base64' ? html`<span class="muted">binary, base64 · </span>` : ''}${
    m.payloadTruncated ? html`<span class="muted">truncated</span>` : ''
  }`;
  if (text.length <= 160)
    return html`<pre class="payload">${text}</pre>
      ${note}`;
  return html`<details class="payload-more">
      <summary><pre class="payload">${text.slice(0, 160)}…</pre></summary>
      <pre class="payload payload-full">${text}</pre>
    </details>
    ${note}`;
}

function rowHtml(m: Message): SafeHtml {
  const outcome = m.outcome ?? (m.reason ? 'rejected' : 'stored');
  return html`<td data-label="Received">${timeHtml(m.receivedAt)}</td>
    <td data-label="Device" class="c-title"><a href="${path`/devices/${m.deviceId}`}">${m.deviceId}</a></td>
    <td data-label="Topic" class="mono">${m.topicKind ?? m.topic ?? ''}</td>
    <td data-label="Outcome" class="c-end">
      ${badge(outcome, OUTCOME_TONE[outcome] ?? 'idle')}${
        m.reason ? html` <span class="mono reason" title="${m.detail ?? ''}">${m.reason}</span>` : ''
      }
    </td>
    <td data-label="Size" class="num">${m.bytes === undefined ? '' : formatBytes(m.bytes)}</td>
    <td data-label="Payload" class="cell-payload c-wide">${payloadCell(m)}</td>`;
}

async function load(append: boolean): Promise<void> {
  const q = query();
  more.disabled = true;
  try {
    const res = await api.get<{ messages: Message[]; next?: string | number | null }>('/api/message-log', {
      ...q,
      limit: 50,
      cursor: append ? next : undefined,
    });
    next = res.next === null || res.next === undefined ? undefined : String(res.next);
    const frag = document.createDocumentFragment();
    for (const m of res.messages) {
      const tr = document.createElement('tr');
      tr.dataset.id = String(m.id);
      setHtml(tr, rowHtml(m));
      frag.append(tr);
    }
    if (append) rows.append(frag);
    else rows.replaceChildren(frag);
    const none = !rows.children.length;
    empty.hidden = !none;
    if (none) {
      setHtml(
        empty,
        html`<h2>No messages</h2>
          <p>
            ${
              q.device || q.from || q.to
                ? 'Nothing was logged for these filters.'
                : 'The receiver keeps rejected messages (all of them with MESSAGE_LOG=all); none are stored yet.'
            }
          </p>`,
      );
    }
    more.hidden = !next;
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) return;
    rows.replaceChildren();
    setHtml(
      empty,
      html`<h2>Could not load the message log</h2>
        <p>${err instanceof Error ? err.message : String(err)}</p>`,
    );
    empty.hidden = false;
  } finally {
    more.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = query();
  history.replaceState(null, '', withQuery('/messages', q));
  void load(false);
});
more.addEventListener('click', () => void load(true));
void load(false);
