"""The kiosk's pages: sign-in and "upload an export, see the report"."""

from __future__ import annotations

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glucogate sign in</title>
<style>body{font-family:system-ui,sans-serif;margin:3em;max-width:30em}</style></head><body>
<h1>glucogate kiosk</h1>
<form method="post" action="/login">
<label>Kiosk token <input id="token" name="token" type="password" autocomplete="off"></label>
<button id="signin" type="submit">Sign in</button></form>
</body></html>"""

UPLOAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glucogate kiosk</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:40em}
progress{width:100%;height:1.4em} #status{margin:.8em 0;font-weight:600}
.error{color:#a00} label{display:block;margin:.6em 0}
</style></head><body>
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
</body></html>"""
