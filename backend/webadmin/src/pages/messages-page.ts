import { html, type SafeHtml } from './html.js';

export interface MessageQuery {
  device: string;
  from: string;
  to: string;
}

/**
 * /messages?device=&from=&to=: the receiver's raw message log, newest first. Payloads are shown as text,
 * never as markup: they are whatever a device (or anyone with its credentials) sent.
 */
export function messagesBody(q: MessageQuery): SafeHtml {
  return html`<div class="page-head">
      <div>
        <h1>Message log</h1>
        <p class="sub">Raw inbound messages kept by the receiver, newest first.</p>
      </div>
    </div>
    <form class="toolbar" id="message-filter" method="get" action="/messages">
      <label class="field field-grow"
        ><span>Device</span
        ><input
          name="device"
          value="${q.device}"
          placeholder="any device"
          autocomplete="off"
          spellcheck="false"
      /></label>
      <label class="field"
        ><span>From</span><input type="datetime-local" name="from" data-iso="${q.from}"
      /></label>
      <label class="field"><span>To</span><input type="datetime-local" name="to" data-iso="${q.to}" /></label>
      <div class="field field-actions">
        <button class="btn btn-primary" type="submit">Show</button
        ><a class="btn btn-ghost" href="/messages">Clear</a>
      </div>
    </form>
    <div class="card table-card">
      <table class="table table-cards" id="message-table">
        <thead>
          <tr>
            <th>Received</th>
            <th>Device</th>
            <th>Topic</th>
            <th>Outcome</th>
            <th class="num">Size</th>
            <th>Payload</th>
          </tr>
        </thead>
        <tbody id="message-rows">
          <tr class="row-placeholder">
            <td colspan="6"><span class="spinner"></span> Loading…</td>
          </tr>
        </tbody>
      </table>
      <div class="empty" id="message-empty" hidden></div>
    </div>
    <nav class="pager">
      <button type="button" class="btn" id="message-more" hidden>Load older messages</button>
    </nav>`;
}
