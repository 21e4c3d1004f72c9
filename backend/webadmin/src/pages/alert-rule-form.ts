import { html, type SafeHtml } from './html.js';

const KINDS: [string, string][] = [
  ['above', 'Sensor above a level'],
  ['below', 'Sensor below a level'],
  ['offline', 'Device offline'],
  ['no_data', 'No readings'],
  ['backlog', 'Backlog too large'],
];
const SENSORS = ['temperature', 'humidity', 'pressure', 'heat_index', 'dew_point'];
const DEVICE_ID_PATTERN = '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}';
const SENSOR_PATTERN = '[a-z][a-z0-9_]{0,49}';

/** Where the server's 400 `field` (or a client hint) for an input is shown: right under it. */
const err = (field: string) =>
  html`<span class="field-error" data-error-for="${field}" role="alert" hidden></span>`;

const units = (name: string, selected: string, withSeconds = true) =>
  html`<select name="${name}" aria-label="Unit">
    ${withSeconds ? html`<option value="1" ${selected === '1' ? html` selected` : ''}>s</option>` : ''}
    <option value="60" ${selected === '60' ? html` selected` : ''}>min</option>
    <option value="3600" ${selected === '3600' ? html` selected` : ''}>h</option>
  </select>`;

/**
 * The rule editor (admins only): one form for a new rule and for editing one, filled and read by
 * web/alert-rule-editor.ts. Fields carry the API's names so a 400 `field` finds its input. The browser's
 * own checks (required, patterns, ranges) are hints; the server decides.
 */
export function ruleFormHtml(): SafeHtml {
  return html`<section class="card rule-editor" id="rule-editor" aria-labelledby="rule-editor-h">
    <div class="section-head">
      <h2 id="rule-editor-h">New rule</h2>
      <button type="button" class="btn btn-sm btn-ghost" id="rule-cancel" hidden>Cancel editing</button>
    </div>
    <form class="rule-form" id="rule-form" novalidate>
      <div class="form-error" id="rule-error" role="alert" hidden></div>
      <div class="rule-cols">
      <div class="rule-col">
      <label class="field f-wide"
        ><span>Name</span><input name="name" required maxlength="120" autocomplete="off" placeholder="Greenhouse too hot" />${err('name')}</label
      >
      <div class="f-row">
        <label class="field"
          ><span>Applies to</span
          ><select name="scope">
            <option value="fleet">every device</option>
            <option value="device">one device</option>
          </select></label
        >
        <label class="field f-grow" data-show="device"
          ><span>Device id</span
          ><input name="deviceId" pattern="${DEVICE_ID_PATTERN}" maxlength="64" autocomplete="off" spellcheck="false" placeholder="greenhouse-01" />${err('deviceId')}</label
        >
      </div>
      <div class="f-row">
        <label class="field f-grow f-kind"
          ><span>When</span
          ><select name="kind">
            ${KINDS.map(([v, l]) => html`<option value="${v}">${l}</option>`)}
          </select>${err('kind')}</label
        >
        <label class="field f-grow" data-show="sensor"
          ><span>Sensor</span
          ><input name="sensor" list="sensor-names" pattern="${SENSOR_PATTERN}" maxlength="50" autocomplete="off" spellcheck="false" placeholder="temperature" />${err('sensor')}</label
        >
        <datalist id="sensor-names">${SENSORS.map((s) => html`<option value="${s}"></option>`)}</datalist>
      </div>
      <div class="f-row" data-show="threshold">
        <label class="field f-grow"
          ><span id="threshold-label">Level</span
          ><span class="with-unit"><input name="threshold" type="number" step="any" inputmode="decimal" /><span class="unit" id="threshold-unit"></span></span>${err('threshold')}</label
        >
        <label class="field f-grow" data-show="clear"
          ><span>Clears at <span class="muted">(optional)</span></span
          ><span class="with-unit"><input name="clear" type="number" step="any" inputmode="decimal" placeholder="= level" /><span class="unit" id="clear-unit"></span></span>${err('clear')}</label
        >
      </div>
      <div class="f-row">
        <label class="field f-grow"
          ><span id="for-label">For at least</span
          ><span class="with-unit"><input name="forS" type="number" min="0" step="1" inputmode="numeric" value="0" />${units('forUnit', '60')}</span>${err('forS')}</label
        >
        <label class="field f-grow"
          ><span>Severity</span
          ><select name="severity">
            <option value="info">info</option>
            <option value="warning" selected>warning</option>
            <option value="critical">critical</option>
          </select>${err('severity')}</label
        >
      </div>
      <p class="hint f-hint" id="kind-hint"></p>
      </div>
      <div class="rule-col">
      <fieldset class="targets">
        <legend>Notify</legend>
        <div id="target-rows"></div>
        ${err('targets')}
        <div class="target-add">
          <button type="button" class="btn btn-sm" data-add-target="email">+ E-mail</button>
          <button type="button" class="btn btn-sm" data-add-target="webhook">+ Webhook</button>
        </div>
      </fieldset>
      <div class="f-row">
        <label class="field f-grow"
          ><span>Repeat while firing <span class="muted">(optional)</span></span
          ><span class="with-unit"><input name="repeatS" type="number" min="1" step="1" inputmode="numeric" placeholder="never" />${units('repeatUnit', '3600', false)}</span>${err('repeatS')}</label
        >
        <label class="check f-grow"><input type="checkbox" name="enabled" checked /> Enabled</label>
      </div>
      <div class="preview" id="rule-preview" aria-live="polite" hidden></div>
      </div>
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" id="rule-submit">Create rule</button>
        <button type="button" class="btn" id="rule-preview-btn">Preview last 24 h</button>
      </div>
    </form>
  </section>`;
}
