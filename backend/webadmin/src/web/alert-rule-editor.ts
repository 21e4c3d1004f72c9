import type {
  AlertKind,
  AlertRuleBody,
  AlertRulePatch,
  AlertRulePreview,
  AlertRuleView,
} from '@sensorfleet/shared/schemas/alerts';
import { html, path, type SafeHtml } from '../pages/html.js';
import { ApiError, api, withQuery } from './api.js';
import { byId, setHtml } from './dom.js';
import { SENSORS } from './format.js';

const SENSOR_KINDS: AlertKind[] = ['above', 'below'];
const MAX_TARGETS = 10;
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SENSOR_NAME = /^[a-z][a-z0-9_]{0,49}$/;
const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+$/;

const KIND_HINT: Record<AlertKind, string> = {
  above:
    'Fires when the sensor stays above the level for the time given. It resolves at “clears at”: set that a little lower so a value hovering at the level does not flap.',
  below:
    'Fires when the sensor stays below the level for the time given. It resolves at “clears at”: set that a little higher so a value hovering at the level does not flap.',
  offline: 'Fires when a device has been offline this long.',
  no_data: 'Fires when a device has sent no readings this long, online or not (a stopped or broken sensor).',
  backlog: 'Fires when a device holds more readings than this that it could not deliver yet.',
};
const NO_PREVIEW: Partial<Record<AlertKind, string>> = {
  offline: 'offline rules',
  no_data: 'no-data rules',
  backlog: 'backlog rules',
};

interface TargetDraft {
  type: 'email' | 'webhook';
  to: string;
  url: string;
  secret: string;
  /** A webhook loaded from a saved rule: its secret is on the server and never shown again. */
  secretSet: boolean;
}

type Problems = Map<string, string>;

/** The server's `body.targets.0.url` (or `targets[0].url`) as this form's error key `targets.0.url`. */
export function formField(field: string): string {
  return field
    .replace(/^body[./]/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.');
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The rule editor: builds a rule body from the form with hints for the obvious mistakes, sends it, and
 * shows the server's verdict. A 400 names a field (`body.threshold`); its message goes under that input,
 * so the admin sees what to change where. Preview asks how often the rule would have fired lately.
 */
export class RuleEditor {
  private readonly form = byId<HTMLFormElement>('rule-form');
  private readonly title = byId('rule-editor-h');
  private readonly error = byId('rule-error');
  private readonly preview = byId('rule-preview');
  private readonly targetRows = byId('target-rows');
  private editing: AlertRuleView | undefined;
  private targets: TargetDraft[] = [];
  /** Targets are sent on edit only when touched: a saved webhook's secret is not in the page to resend. */
  private targetsTouched = false;

  constructor(private readonly opts: { onSaved(rule: AlertRuleView | undefined, created: boolean): void }) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
    this.form.addEventListener('change', (ev) => {
      const name = (ev.target as HTMLInputElement).name;
      if (name === 'kind' || name === 'scope' || name === 'sensor') this.paintKind();
    });
    this.form.addEventListener('input', (ev) => {
      const el = ev.target as HTMLInputElement;
      if (el.name === 'sensor') this.paintKind();
      this.clearError(
        el.closest('[data-index]')
          ? `targets.${el.closest<HTMLElement>('[data-index]')?.dataset.index}.${el.dataset.key}`
          : el.name,
      );
      this.readTargets();
    });
    byId('rule-preview-btn').addEventListener('click', () => void this.runPreview());
    byId('rule-cancel').addEventListener('click', () => this.newRule());
    this.form.addEventListener('click', (ev) => {
      const t = ev.target as HTMLElement;
      const add = t.closest<HTMLButtonElement>('[data-add-target]');
      if (add) {
        this.readTargets();
        if (this.targets.length >= MAX_TARGETS) return;
        this.targets.push({
          type: add.dataset.addTarget === 'webhook' ? 'webhook' : 'email',
          to: '',
          url: '',
          secret: '',
          secretSet: false,
        });
        this.targetsTouched = true;
        this.paintTargets();
        this.targetRows
          .querySelector<HTMLInputElement>(`[data-index="${this.targets.length - 1}"] input`)
          ?.focus();
        return;
      }
      const row = t.closest<HTMLElement>('[data-index]');
      const index = Number(row?.dataset.index);
      if (t.closest('[data-remove-target]') && row) {
        this.readTargets();
        this.targets.splice(index, 1);
        this.targetsTouched = true;
        this.paintTargets();
      } else if (t.closest('[data-generate]') && row) {
        this.readTargets();
        const target = this.targets[index];
        if (target) target.secret = randomSecret();
        this.targetsTouched = true;
        this.paintTargets();
      }
    });
    this.newRule();
  }

  newRule(): void {
    this.editing = undefined;
    this.form.reset();
    this.targets = [];
    this.targetsTouched = false;
    this.title.textContent = 'New rule';
    byId('rule-submit').textContent = 'Create rule';
    byId('rule-cancel').hidden = true;
    this.clearErrors();
    this.preview.hidden = true;
    this.paintTargets();
    this.paintKind();
  }

  edit(rule: AlertRuleView): void {
    this.newRule();
    this.editing = rule;
    this.title.textContent = `Edit “${rule.name}”`;
    byId('rule-submit').textContent = 'Save changes';
    byId('rule-cancel').hidden = false;
    const set = (name: string, value: string) => {
      const el = this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
      if (el) el.value = value;
    };
    set('name', rule.name);
    set('scope', rule.deviceId ? 'device' : 'fleet');
    set('deviceId', rule.deviceId ?? '');
    set('kind', rule.kind);
    set('sensor', rule.sensor ?? '');
    set('threshold', rule.threshold === null ? '' : String(rule.threshold));
    set('clear', rule.clear === null || rule.clear === rule.threshold ? '' : String(rule.clear));
    const [forValue, forUnit] = splitSeconds(rule.forS, [3600, 60, 1]);
    set('forS', String(forValue));
    set('forUnit', String(forUnit));
    if (rule.repeatS) {
      const [v, u] = splitSeconds(rule.repeatS, [3600, 60]);
      set('repeatS', String(v));
      set('repeatUnit', String(u));
    }
    set('severity', rule.severity);
    (this.form.elements.namedItem('enabled') as HTMLInputElement).checked = rule.enabled;
    this.targets = rule.targets.map((t) =>
      t.type === 'email'
        ? { type: 'email', to: t.to, url: '', secret: '', secretSet: false }
        : { type: 'webhook', to: '', url: t.url, secret: '', secretSet: t.secretSet },
    );
    this.paintTargets();
    this.paintKind();
    this.form.closest('section')?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    (this.form.elements.namedItem('name') as HTMLInputElement).focus({ preventScroll: true });
  }

  /** The rule being edited was deleted elsewhere on the page. */
  forget(id: number): void {
    if (this.editing?.id === id) this.newRule();
  }

  private value(name: string): string {
    const el = this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    return el ? el.value.trim() : '';
  }

  private kind(): AlertKind {
    return this.value('kind') as AlertKind;
  }

  private paintKind(): void {
    const kind = this.kind();
    const sensorKind = SENSOR_KINDS.includes(kind);
    const shown: Record<string, boolean> = {
      device: this.value('scope') === 'device',
      sensor: sensorKind,
      threshold: sensorKind || kind === 'backlog',
      clear: sensorKind,
    };
    for (const el of this.form.querySelectorAll<HTMLElement>('[data-show]')) {
      el.hidden = !shown[el.dataset.show ?? ''];
    }
    byId('threshold-label').textContent =
      kind === 'above' ? 'Above' : kind === 'below' ? 'Below' : 'More than (readings)';
    byId('for-label').textContent =
      kind === 'offline'
        ? 'Offline for at least'
        : kind === 'no_data'
          ? 'Silent for at least'
          : 'For at least';
    const unit = sensorKind ? (SENSORS[this.value('sensor')]?.unit ?? '') : '';
    byId('threshold-unit').textContent = unit;
    byId('clear-unit').textContent = unit;
    byId('kind-hint').textContent = KIND_HINT[kind] ?? '';
  }

  private paintTargets(): void {
    const rows = this.targets.map((t, i) => targetRowHtml(t, i, !!this.editing && !this.targetsTouched));
    setHtml(
      this.targetRows,
      rows.length
        ? html`${rows}`
        : html`<p class="hint targets-none">No one is notified: alerts show here only. Add an e-mail address or a webhook.</p>`,
    );
    for (const b of this.form.querySelectorAll<HTMLButtonElement>('[data-add-target]'))
      b.disabled = this.targets.length >= MAX_TARGETS;
  }

  private readTargets(): void {
    for (const row of this.targetRows.querySelectorAll<HTMLElement>('[data-index]')) {
      const t = this.targets[Number(row.dataset.index)];
      if (!t) continue;
      for (const input of row.querySelectorAll<HTMLInputElement>('input[data-key]')) {
        const key = input.dataset.key as 'to' | 'url' | 'secret';
        if (t[key] !== input.value) {
          t[key] = input.value;
          this.targetsTouched = true;
        }
      }
    }
  }

  /** The body for POST (or the fields for PATCH), and the hints that stop it being sent. */
  private collect(forPreview: boolean): { body: AlertRuleBody; problems: Problems } {
    this.readTargets();
    const problems: Problems = new Map();
    const kind = this.kind();
    const num = (name: string): number | undefined => {
      const v = this.value(name);
      if (v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) problems.set(name, 'Enter a number.');
      return n;
    };
    const name = this.value('name');
    if (!name) problems.set('name', 'Give the rule a name.');
    const body: AlertRuleBody = {
      name,
      kind,
      forS: 0,
      severity: this.value('severity') as AlertRuleBody['severity'],
      targets: [],
      enabled: (this.form.elements.namedItem('enabled') as HTMLInputElement).checked,
    };
    if (this.value('scope') === 'device') {
      const id = this.value('deviceId');
      if (!id) problems.set('deviceId', 'Enter a device id, or apply the rule to every device.');
      else if (!DEVICE_ID.test(id)) problems.set('deviceId', 'Letters, digits, “.”, “_” and “-”, up to 64.');
      body.deviceId = id;
    }
    if (SENSOR_KINDS.includes(kind)) {
      const sensor = this.value('sensor');
      if (!sensor) problems.set('sensor', 'Which sensor? e.g. temperature.');
      else if (!SENSOR_NAME.test(sensor)) problems.set('sensor', 'Lower-case letters, digits and “_”.');
      body.sensor = sensor;
      body.threshold = num('threshold');
      if (body.threshold === undefined) problems.set('threshold', 'Enter the level.');
      const clear = num('clear');
      if (clear !== undefined && body.threshold !== undefined) {
        if (kind === 'above' && clear > body.threshold)
          problems.set('clear', 'For “above”, it clears at or below the level.');
        if (kind === 'below' && clear < body.threshold)
          problems.set('clear', 'For “below”, it clears at or above the level.');
        body.clear = clear;
      }
    } else if (kind === 'backlog') {
      body.threshold = num('threshold');
      if (body.threshold === undefined) problems.set('threshold', 'Enter how many readings.');
    }
    const forS = (num('forS') ?? 0) * Number(this.value('forUnit') || 1);
    if (!Number.isInteger(forS) || forS < 0 || forS > 7 * 86_400)
      problems.set('forS', 'Whole seconds, from 0 up to 7 days.');
    body.forS = forS;
    const repeat = num('repeatS');
    if (repeat !== undefined) {
      const repeatS = repeat * Number(this.value('repeatUnit') || 60);
      if (!Number.isInteger(repeatS) || repeatS < 60 || repeatS > 30 * 86_400)
        problems.set('repeatS', 'From 1 minute up to 30 days, or empty for never.');
      body.repeatS = repeatS;
    }
    if (!forPreview) {
      this.targets.forEach((t, i) => {
        if (t.type === 'email') {
          if (!EMAIL.test(t.to.trim()))
            problems.set(`targets.${i}.to`, 'One e-mail address, like ops@example.com.');
          body.targets.push({ type: 'email', to: t.to.trim() });
        } else {
          if (!/^https?:\/\/./i.test(t.url.trim())) problems.set(`targets.${i}.url`, 'An http(s):// URL.');
          if (t.secret.length < 16)
            problems.set(
              `targets.${i}.secret`,
              t.secretSet
                ? 'Enter the secret again (16+ characters): it is never shown.'
                : 'At least 16 characters (or Generate one).',
            );
          body.targets.push({ type: 'webhook', url: t.url.trim(), secret: t.secret });
        }
      });
    }
    return { body, problems };
  }

  /** PATCH sends what the form shows, with null for what this kind or scope does not use. */
  private patchOf(body: AlertRuleBody): AlertRulePatch {
    const patch: AlertRulePatch = {
      name: body.name,
      kind: body.kind,
      deviceId: body.deviceId ?? null,
      sensor: body.sensor ?? null,
      threshold: body.threshold ?? null,
      clear: body.clear ?? null,
      forS: body.forS,
      severity: body.severity,
      repeatS: body.repeatS ?? null,
      enabled: body.enabled ?? true,
    };
    if (this.targetsTouched) patch.targets = body.targets;
    return patch;
  }

  private async save(): Promise<void> {
    this.clearErrors();
    const { body, problems } = this.collect(!!this.editing && !this.targetsTouched);
    if (problems.size) return this.showProblems(problems);
    const button = byId<HTMLButtonElement>('rule-submit');
    button.disabled = true;
    try {
      const editing = this.editing;
      const saved = editing
        ? await api.patch<AlertRuleView | { rule: AlertRuleView }>(
            path`/api/alert-rules/${editing.id}`,
            this.patchOf(body),
          )
        : await api.post<AlertRuleView | { rule: AlertRuleView }>('/api/alert-rules', body);
      const rule = saved && 'rule' in saved ? saved.rule : saved;
      this.newRule();
      this.opts.onSaved(rule, !editing);
    } catch (err) {
      this.showApiError(err);
    } finally {
      button.disabled = false;
    }
  }

  private async runPreview(): Promise<void> {
    this.clearErrors();
    const { body, problems } = this.collect(true);
    if (problems.size) return this.showProblems(problems);
    const kindNoun = NO_PREVIEW[body.kind];
    const button = byId<HTMLButtonElement>('rule-preview-btn');
    button.disabled = true;
    this.preview.hidden = false;
    setHtml(this.preview, html`<span class="spinner"></span> Replaying the last 24 h…`);
    try {
      // Who is notified does not change how often a rule fires; a saved webhook's secret is not here anyway.
      const res = await api.post<AlertRulePreview>(withQuery('/api/alert-rules/preview', { hours: 24 }), {
        ...body,
        targets: [],
      });
      setHtml(this.preview, previewHtml(res, kindNoun ?? `${body.kind} rules`));
    } catch (err) {
      this.preview.hidden = true;
      this.showApiError(err);
    } finally {
      button.disabled = false;
    }
  }

  private showApiError(err: unknown): void {
    if (err instanceof ApiError && err.status === 0)
      return this.fail('The server is not answering; try again.');
    if (err instanceof ApiError && err.field) {
      const key = formField(err.field);
      // "body.threshold: must be ≤ …" reads as "must be ≤ …" under the threshold input.
      const message = err.message.replace(/^[\w.[\]/]+:\s*/, '');
      if (this.showFieldError(key, message)) return;
    }
    this.fail(
      err instanceof ApiError && err.status === 403
        ? 'Only admins may change alert rules.'
        : err instanceof Error
          ? err.message
          : String(err),
    );
  }

  private showProblems(problems: Problems): void {
    let first = true;
    for (const [field, message] of problems) {
      if (!this.showFieldError(field, message, first)) this.fail(message);
      first = false;
    }
  }

  /** Under the input of `field` (or the nearest: `targets.0` for `targets.0.secret`'s row); false if none. */
  private showFieldError(field: string, message: string, focus = true): boolean {
    let key = field;
    let el: HTMLElement | null = null;
    while (key && !(el = this.form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(key)}"]`)))
      key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '';
    // A field this kind does not use is hidden: its error would be invisible, so it goes on top.
    if (!el || el.parentElement?.closest('[hidden]')) return false;
    el.textContent = message;
    el.hidden = false;
    const input = el
      .closest('.field, .target-row')
      ?.querySelector<HTMLInputElement>(
        key.startsWith('targets.') ? `input[data-key="${key.split('.')[2] ?? ''}"]` : 'input, select',
      );
    input?.setAttribute('aria-invalid', 'true');
    if (focus) input?.focus();
    return true;
  }

  private clearError(field: string): void {
    const el = this.form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(field)}"]`);
    if (!el || el.hidden) return;
    el.hidden = true;
    el.closest('.field, .target-row')?.querySelector('[aria-invalid]')?.removeAttribute('aria-invalid');
  }

  private clearErrors(): void {
    this.error.hidden = true;
    for (const el of this.form.querySelectorAll<HTMLElement>('[data-error-for]')) el.hidden = true;
    for (const el of this.form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  private fail(message: string): void {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}

/** [value, unit] with the largest unit that divides the seconds: 300 → [5, 60]. */
function splitSeconds(s: number, units: number[]): [number, number] {
  for (const u of units) if (s % u === 0 && s >= u) return [s / u, u];
  const smallest = units[units.length - 1] ?? 1;
  return [s / smallest, smallest];
}

function targetRowHtml(t: TargetDraft, i: number, keepSecret: boolean): SafeHtml {
  const err = (key: string) =>
    html`<span class="field-error" data-error-for="targets.${i}.${key}" role="alert" hidden></span>`;
  const remove = html`<button type="button" class="btn btn-sm btn-ghost target-remove" data-remove-target aria-label="Remove this target">✕</button>`;
  if (t.type === 'email')
    return html`<div class="target-row" data-index="${i}" data-type="email">
      <span class="target-type">E-mail</span>
      <label class="field target-main"
        ><span class="sr-only">E-mail address</span
        ><input type="email" data-key="to" value="${t.to}" placeholder="ops@example.com" maxlength="254" autocomplete="off" />${err('to')}</label
      >
      ${remove}
    </div>`;
  return html`<div class="target-row" data-index="${i}" data-type="webhook">
    <span class="target-type">Webhook</span>
    <label class="field target-main"
      ><span class="sr-only">Webhook URL</span
      ><input type="url" data-key="url" value="${t.url}" placeholder="https://hooks.example.net/sensorfleet" maxlength="2048" autocomplete="off" spellcheck="false" />${err('url')}</label
    >
    ${remove}
    <label class="field target-secret"
      ><span class="sr-only">Signing secret</span
      ><span class="with-unit"
        ><input
          data-key="secret"
          class="mono"
          value="${t.secret}"
          placeholder="${keepSecret && t.secretSet ? 'secret kept on the server' : 'signing secret, 16+ characters'}"
          maxlength="256"
          autocomplete="off"
          spellcheck="false" /><button type="button" class="btn btn-sm" data-generate>Generate</button></span
      >${err('secret')}</label
    >
  </div>`;
}

function previewHtml(p: AlertRulePreview, kindNoun: string): SafeHtml {
  if (!p.supported)
    return html`<strong>Preview not available for ${kindNoun}.</strong>
      <span class="muted">The stored history has readings, not connections or backlogs, to replay.</span>`;
  const hours = `${p.hours} h`;
  const top = [...p.devices].sort((a, b) => b.fired - a.fired).slice(0, 5);
  const resolution = p.resolution === '1m' ? '1-minute buckets' : p.resolution;
  return html`<strong
      >${
        p.fired === 0
          ? `Would not have fired in the last ${hours}.`
          : `Would have fired ${p.fired === 1 ? 'once' : `${p.fired.toLocaleString()} times`} in the last ${hours}.`
      }</strong
    >
    ${
      top.length
        ? html`<span class="preview-devices"
          >${top.map((d) => html`<span class="preview-device"><span class="mono">${d.deviceId}</span> ${d.fired}×</span>`)}${
            p.devices.length > top.length
              ? html` <span class="muted">and ${p.devices.length - top.length} more</span>`
              : ''
          }</span
        >`
        : ''
    }
    <span class="muted">Judged on ${resolution}: a breach shorter than a bucket may not show.</span>`;
}
