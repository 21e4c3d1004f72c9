import { html, path, type SafeHtml } from '../pages/html.js';
import { ApiError, api } from './api.js';
import { byId, setHtml } from './dom.js';
import { badge, COMMAND_TONE, formatDuration } from './format.js';
import { timeHtml } from './time.js';

export interface Command {
  id: string;
  deviceId?: string;
  command: string;
  args?: Record<string, unknown> | null;
  status: string;
  result?: unknown;
  error?: string | null;
  createdBy?: string | null;
  createdAt?: string | null;
  sentAt?: string | null;
  completedAt?: string | null;
}

const FINAL = new Set(['succeeded', 'failed', 'expired']);

function argsText(c: Command): string {
  const ms = c.args?.intervalMs;
  if (c.command === 'set_interval' && typeof ms === 'number') return formatDuration(ms);
  const keys = Object.keys(c.args ?? {}).filter((k) => k !== 'expiresAt');
  return keys.length ? JSON.stringify(c.args) : '';
}

function outcome(c: Command): SafeHtml {
  if (c.error) return html`<span class="error-text">${c.error}</span>`;
  if (c.result === undefined || c.result === null) return html`<span class="muted">—</span>`;
  const text = typeof c.result === 'string' ? c.result : JSON.stringify(c.result);
  return html`<code class="result" title="${text}"
    >${text.length > 120 ? `${text.slice(0, 120)}…` : text}</code
  >`;
}

function rowHtml(c: Command): SafeHtml {
  const args = argsText(c);
  return html`<td data-label="Command" class="c-title">
      <span class="mono">${c.command}</span>${args ? html` <span class="muted">${args}</span>` : ''}
    </td>
    <td data-label="Status" class="cell-status c-end">${badge(c.status, COMMAND_TONE[c.status] ?? 'idle')}</td>
    <td data-label="Sent by">${c.createdBy ?? '—'}</td>
    <td data-label="Created">${timeHtml(c.createdAt)}</td>
    <td data-label="Delivered">${timeHtml(c.sentAt)}</td>
    <td data-label="Completed">${timeHtml(c.completedAt)}</td>
    <td data-label="Result" class="c-wide${c.error || c.result ? '' : ' is-empty'}">${outcome(c)}</td>`;
}

/**
 * The command buttons and the device's command history. A command is stored as pending and delivered
 * when the device is online (desired state), so a row appears at once and its status follows from /ws
 * `command` messages, with a slow poll behind them while anything is still open.
 */
export class CommandPanel {
  private readonly rows = byId('command-rows');
  private readonly error = byId('command-error');
  private commands: Command[] = [];
  private poll: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deviceId: string) {}

  start(): void {
    const bar = document.getElementById('command-bar');
    bar?.addEventListener('click', (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-command]');
      if (button?.dataset.command) void this.send(button.dataset.command, {}, button);
    });
    const form = document.getElementById('interval-form') as HTMLFormElement | null;
    form?.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const seconds = Number(new FormData(form).get('seconds'));
      if (!(seconds >= 0.1 && seconds <= 86_400)) return this.fail('The interval must be 0.1 s to 24 h.');
      void this.send(
        'set_interval',
        { intervalMs: Math.round(seconds * 1000) },
        form.querySelector('button'),
      );
    });
    void this.load();
  }

  async load(): Promise<void> {
    try {
      const res = await api.get<{ commands: Command[] }>(path`/api/devices/${this.deviceId}/commands`, {
        limit: 20,
      });
      this.commands = res.commands;
      this.render();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 0))
        this.fail(`Could not load the command history: ${String(err)}`);
    }
  }

  onLive(msg: Record<string, unknown>): void {
    const src = (typeof msg.command === 'object' && msg.command ? msg.command : msg) as Partial<Command>;
    if (typeof src.id !== 'string') return;
    const known = this.commands.find((c) => c.id === src.id);
    if (known) {
      Object.assign(known, Object.fromEntries(Object.entries(src).filter(([k]) => k !== 'type')));
      this.render();
    } else void this.load();
  }

  private async send(command: string, args: Record<string, unknown>, button: Element | null): Promise<void> {
    this.error.hidden = true;
    if (button instanceof HTMLButtonElement) button.disabled = true;
    try {
      const res = await api.post<{ id: string; status: string }>(
        path`/api/devices/${this.deviceId}/commands`,
        {
          command,
          ...args,
        },
      );
      if (!this.commands.some((c) => c.id === res.id)) {
        this.commands.unshift({
          id: res.id,
          command,
          args,
          status: res.status,
          createdAt: new Date().toISOString(),
        });
      }
      this.render();
      void this.load();
    } catch (err) {
      this.fail(
        err instanceof ApiError && err.status === 403
          ? 'Your role may not send commands.'
          : String(err instanceof Error ? err.message : err),
      );
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  }

  private fail(message: string): void {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  private render(): void {
    if (!this.commands.length) {
      setHtml(
        this.rows,
        html`<tr class="row-placeholder">
          <td colspan="7">No commands sent to this device yet.</td>
        </tr>`,
      );
    } else {
      const frag = document.createDocumentFragment();
      for (const c of this.commands) {
        const tr = document.createElement('tr');
        tr.dataset.id = c.id;
        tr.dataset.command = c.command;
        tr.dataset.status = c.status;
        setHtml(tr, rowHtml(c));
        frag.append(tr);
      }
      this.rows.replaceChildren(frag);
    }
    clearTimeout(this.poll);
    if (this.commands.some((c) => !FINAL.has(c.status))) {
      this.poll = setTimeout(() => void this.load(), 5000);
    }
  }
}
