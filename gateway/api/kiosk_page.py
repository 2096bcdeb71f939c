"""The kiosk's pages: sign-in, and the visit page: "Devices" (plug in or switch on a
device, upload it with a live progress bar, open and print the report) above "upload an
export". Plain HTML and JavaScript, no build step; device data is put into the page with
``textContent`` only, and the patient's local id travels only in request bodies."""

from __future__ import annotations

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glucogate sign in</title>
<style>body{font-family:system-ui,sans-serif;margin:3em;max-width:30em}</style></head><body>
<h1>glucogate kiosk</h1>
<form method="post" action="/login">
<label>Kiosk token <input id="token" name="token" type="password" autocomplete="off"></label>
<button id="signin" type="submit">Sign in</button></form>
</body></html>"""

DEVICES_JS = """
// Devices panel: list (GET /api/devices), upload (POST /api/devices/uploads), follow
// the upload's server-sent events with an EventSource, then the report and Print.
const KINDS = {'dexcom-receiver': 'Dexcom CGM receiver (USB)', 'tandem-pump': 'Tandem pump (USB)',
  'ble-cgms': 'CGM (Bluetooth)', 'ble-gls': 'Glucose meter (Bluetooth)',
  'ble-ids': 'Insulin pump (Bluetooth)'};
const devList = document.getElementById('devices');
const devBar = document.getElementById('device-bar');
const devStatus = document.getElementById('device-status');
const devResult = document.getElementById('device-result');
const devPatient = document.getElementById('device-patient');
let following = null;
let stream = null;

function say(text, isError) {
  devStatus.textContent = text;
  devStatus.className = isError ? 'error' : '';
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text) { node.textContent = text; }
  if (cls) { node.className = cls; }
  return node;
}

function deviceRow(name, where, why, target, busy) {
  const li = el('li');
  li.dataset.device = target.port || target.ble;
  const info = el('div');
  info.appendChild(el('strong', name));
  info.appendChild(el('div', where));
  info.appendChild(el('div', why, 'why'));
  li.appendChild(info);
  if (target.driver) {
    const button = el('button', busy ? 'Uploading…' : 'Upload', 'device-upload');
    button.type = 'button';
    button.disabled = Boolean(busy) || following !== null;
    button.addEventListener('click', () => startUpload(target));
    li.appendChild(button);
  }
  return li;
}

const refresh = document.getElementById('device-refresh');

async function loadDevices() {
  // the old list stays while the (Bluetooth) scan runs
  if (!devList.children.length) { devList.replaceChildren(el('li', 'Looking for devices…')); }
  refresh.disabled = true;
  refresh.textContent = 'Looking for devices…';
  let body;
  try {
    const resp = await fetch('/api/devices', {credentials: 'same-origin'});
    body = await resp.json();
    if (!resp.ok) { throw new Error(body.detail || resp.statusText); }
  } catch (err) {
    devList.replaceChildren(el('li', 'Could not list devices: ' + err.message, 'error'));
    return;
  } finally {
    refresh.disabled = false;
    refresh.textContent = 'Look for devices again';
  }
  const rows = [];
  let running = null;
  for (const d of body.serial) {
    const ids = d.usb_id ? 'USB ' + d.usb_id : 'no USB ids';
    const name = d.recognised ? KINDS[d.driver] || d.driver : 'Not recognised';
    const target = {port: d.port, driver: d.recognised ? d.driver : null};
    rows.push(deviceRow(name, d.port + ' · ' + ids + ' · ' + d.description, d.reason,
      target, d.upload));
    running = running || d.upload;
  }
  for (const d of body.ble) {
    const name = d.recognised ? KINDS[d.driver] || d.driver : 'Not recognised';
    const target = {ble: d.address, driver: d.recognised ? d.driver : null};
    rows.push(deviceRow(name + (d.name ? ': ' + d.name : ''), d.address,
      d.recognised ? 'advertises the ' + d.kind + ' service' : 'no diabetes service advertised',
      target, d.upload));
    running = running || d.upload;
  }
  if (body.ble_error) { rows.push(el('li', 'Bluetooth: ' + body.ble_error, 'why')); }
  if (!rows.length) { rows.push(el('li', 'No devices found. Check the cable, then look again.')); }
  devList.replaceChildren(...rows);
  if (running && following === null) { follow(running); }
}

async function startUpload(target) {
  const patient = devPatient.value.trim();
  if (!patient) {
    say('Enter the patient first.', true);
    devPatient.focus();
    return;
  }
  devResult.replaceChildren();
  devBar.value = 0;
  say('Starting the upload…');
  const resp = await fetch('/api/devices/uploads', {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({...target, patient: patient}),
  });
  const body = await resp.json().catch(() => ({}));
  if (resp.status !== 202) {
    say('Could not start: ' + (body.detail || resp.statusText), true);
    if (resp.status === 409) { loadDevices(); }
    return;
  }
  follow(body.id);
}

function follow(id) {
  if (stream !== null && following === id) { return; }
  if (stream !== null) { stream.close(); }
  following = id;
  sessionStorage.setItem('glucogate-upload', id);
  document.querySelectorAll('.device-upload').forEach((b) => { b.disabled = true; });
  const events = new EventSource('/api/devices/uploads/' + encodeURIComponent(id) + '/events');
  const data = (ev) => JSON.parse(ev.data);
  events.addEventListener('started', () => say('Connecting to the device…'));
  events.addEventListener('progress', (ev) => {
    const p = data(ev);
    devBar.value = p.percent;
    say((p.next || 'Finishing') + '… (step ' + p.done + ' of ' + p.total + ', ' +
      p.percent + ' %)');
  });
  events.addEventListener('done', (ev) => { events.close(); finished(data(ev)); });
  events.addEventListener('failed', (ev) => { events.close(); finished(data(ev)); });
  events.onerror = () => {
    // the browser reconnects by itself (with Last-Event-ID); once it gives up, poll
    if (events.readyState === EventSource.CLOSED) { stream = null; recover(id); }
  };
  stream = events;
}

async function recover(id) {
  // the stream is gone (server restart, network): ask for the state instead
  const resp = await fetch('/api/devices/uploads/' + encodeURIComponent(id),
    {credentials: 'same-origin'});
  if (!resp.ok) { following = null; sessionStorage.removeItem('glucogate-upload'); return; }
  const state = await resp.json();
  if (state.state === 'running') { setTimeout(() => follow(id), 2000); return; }
  finished(state.last_event);
}

function finished(ev) {
  following = null;
  stream = null;
  sessionStorage.removeItem('glucogate-upload');
  if (ev.type === 'failed') {
    devBar.value = 0;
    say(ev.message, true);
  } else {
    devBar.value = 100;
    say('Done: ' + ev.added + ' new records, ' + ev.already_stored + ' already stored (' +
      ev.device + ').');
    const link = el('a', 'Open the report');
    link.href = ev.report_url;
    link.id = 'device-report';
    const print = el('button', 'Print the report');
    print.type = 'button';
    print.id = 'device-print';
    print.addEventListener('click', () => printReport(ev.report_url));
    devResult.replaceChildren(link, print);
  }
  loadDevices();
}

function printReport(url) {
  // load the report into a frame on this page and print that frame only
  let frame = document.getElementById('report-frame');
  if (!frame) {
    frame = el('iframe');
    frame.id = 'report-frame';
    frame.title = 'Report preview';
    devResult.appendChild(frame);
  }
  frame.onload = () => frame.contentWindow.print();
  frame.src = url;
}

refresh.addEventListener('click', loadDevices);
const pending = sessionStorage.getItem('glucogate-upload');
if (pending) { recover(pending); }
loadDevices();
"""

UPLOAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glucogate kiosk</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:48em;font-size:1.2rem}
progress{width:100%;height:1.6em} #status,#device-status{margin:.8em 0;font-weight:600}
.error{color:#a00} label{display:block;margin:.6em 0}
input{font-size:1.1rem;padding:.4em} button{font-size:1.1rem;padding:.6em 1.2em;min-height:3em}
section{border:1px solid #ccc;border-radius:.5em;padding:0 1em 1em;margin-bottom:1.5em}
#devices{list-style:none;padding:0} #devices li{display:flex;gap:1em;align-items:center;
justify-content:space-between;border-bottom:1px solid #eee;padding:.6em 0}
.why{color:#555;font-size:.95rem} .actions a,.actions button{margin-right:.8em}
#report-frame{width:100%;height:30em;border:1px solid #ccc;margin-top:1em}
</style></head><body>
<section id="devices-panel" aria-labelledby="devices-title">
<h1 id="devices-title">Devices</h1>
<p>Plug the pump or CGM receiver into the kiosk with its USB cable, or switch on its
Bluetooth, then choose Upload.</p>
<label>Patient (clinic record number; stays on this machine)
 <input id="device-patient" autocomplete="off"></label>
<button id="device-refresh" type="button">Look for devices again</button>
<ul id="devices" aria-live="polite"></ul>
<progress id="device-bar" max="100" value="0"></progress>
<div id="device-status" role="status"></div>
<div id="device-result" class="actions"></div>
</section>
<section id="export-panel">
<h1>Upload a device export</h1>
<p>Clarity, LibreView, FreeStyle reader or CareLink export. The format is recognised
from the file's content.</p>
<form id="upload">
<label>Patient (clinic record number; stays on this machine)
 <input id="patient" name="patient" required></label>
<label>Export file <input id="file" name="file" type="file" required></label>
<button id="send" type="submit">Upload</button>
</form>
<progress id="bar" max="100" value="0"></progress>
<div id="status" role="status"></div>
<div id="result"></div>
</section>
<script>
{DEVICES_JS}
</script>
<script>
const form = document.getElementById('upload');
const bar = document.getElementById('bar');
const status = document.getElementById('status');
const result = document.getElementById('result');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  result.textContent = '';
  status.className = '';
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/uploads');
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) { bar.value = Math.round(80 * e.loaded / e.total); }
    status.textContent = 'Sending the file…';
  };
  xhr.upload.onload = () => { bar.value = 85; status.textContent = 'Reading and storing…'; };
  xhr.onload = () => {
    const body = JSON.parse(xhr.responseText || '{}');
    if (xhr.status !== 200) {
      status.className = 'error';
      status.textContent = 'Could not import: ' + (body.detail || xhr.statusText);
      bar.value = 0;
      return;
    }
    bar.value = 100;
    status.textContent = 'Done: ' + body.added + ' new records, ' +
      body.already_stored + ' already stored.';
    const link = document.createElement('a');
    link.href = body.report_url; link.id = 'report'; link.textContent = 'Open the report';
    result.appendChild(link);
  };
  xhr.send(new FormData(form));
});
</script>
</body></html>""".replace("{DEVICES_JS}", DEVICES_JS.strip())
