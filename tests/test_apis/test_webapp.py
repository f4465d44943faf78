"""mmchest.apis.webapp (tools/serve.py's app): upload rules with Flask's test client, and a
real browser session with tools/serve.py run as a user runs it.

The browser test starts ``tools/serve.py`` as a subprocess with an untrained (rigged) demo
checkpoint and drives headless Chromium (Debian's ``chromium``) over the DevTools protocol
on a pipe (``--remote-debugging-pipe``: NUL-terminated JSON on fds 3/4), so it needs no
driver package. It is skipped only when no Chromium binary is installed.
"""
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest

from mmchest.apis import Prediction, to_display
from mmchest.apis.webapp import create_app
from mmchest.io.dicom import read_dicom
from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64
CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')


@pytest.fixture
def dicom_bytes(tmp_path):
    path = tmp_path / 'x.dcm'
    write_dicom(path, chest_radiograph(SIZE, [3, 1]).image)
    return path.read_bytes()


class StubPredictor:
    """Reads the upload like the real one and predicts a fixed square; records paths."""
    task = 'seg'

    def __init__(self):
        self.paths = []

    def predict_file(self, path):
        self.paths.append(path)
        img, _ = read_dicom(path)
        mask = np.zeros(img.shape, np.uint8)
        mask[8:24, 8:24] = 1
        return Prediction(source=path, image=to_display(img), probability=0.25,
                          has_finding=True, mask=mask)


@pytest.fixture
def app(tmp_path):
    upload_dir = tmp_path / 'uploads'
    upload_dir.mkdir()
    predictor = StubPredictor()
    app = create_app(predictor, max_upload_mb=0.5, upload_dir=str(upload_dir),
                           label='stub')
    return app, predictor, upload_dir


def _post(client, data, name):
    import io
    return client.post('/predict', data={'file': (io.BytesIO(data), name)},
                       content_type='multipart/form-data')


def test_upload_dicom_shows_overlay_and_leaves_nothing(app, dicom_bytes, tmp_path):
    app, predictor, upload_dir = app
    client = app.test_client()
    assert b'type="file"' in client.get('/').data
    resp = _post(client, dicom_bytes, '../../evil<b>.dcm')
    html = resp.data.decode()
    assert resp.status_code == 200
    assert '<strong id="probability">0.250</strong>' in html
    assert 'evil&lt;b&gt;.dcm' in html and '<b>' not in html  # escaped, directories cut
    src = html.split('id="overlay"')[1].split('src="')[1].split('"')[0]
    assert src.startswith('data:image/png;base64,')
    png = cv2.imdecode(np.frombuffer(base64.b64decode(src.split(',', 1)[1]), np.uint8),
                       cv2.IMREAD_COLOR)
    assert png.shape == (SIZE, SIZE, 3)
    assert tuple(png[23, 16]) == (0, 0, 255)  # the mask contour (bottom edge), red
    # the upload went to a server-chosen file in the private folder, then was deleted
    (path,) = predictor.paths
    assert os.path.dirname(path) == str(upload_dir) and 'evil' not in path
    assert os.listdir(upload_dir) == []
    assert not (tmp_path.parent / 'evil<b>.dcm').exists()


@pytest.mark.parametrize('data, name, status, message', [
    (b'\x89PNG\r\n\x1a\n' + b'0' * 200, 'photo.png', 400, 'photo.png is not a DICOM file'),
    (b'not a dicom at all', 'fake.dcm', 400, 'fake.dcm is not a readable DICOM image'),
    (b'', 'empty.dcm', 400, 'empty.dcm: the file is empty'),
    (b'\0' * (600 * 1024), 'big.dcm', 413, 'File too large: uploads are limited to 0.5 MB'),
])
def test_rejected_uploads(app, data, name, status, message):
    app, predictor, upload_dir = app
    resp = _post(app.test_client(), data, name)
    html = resp.data.decode()
    assert resp.status_code == status
    assert f'id="error">{message}' in html
    assert 'id="overlay"' not in html
    assert os.listdir(upload_dir) == []
    assert str(upload_dir) not in html  # no server path in messages
    if status == 413 or name == 'photo.png':
        assert predictor.paths == []  # never reached the model


def test_decompression_bomb_gets_413_without_decoding(app, tmp_path):
    """A 390 KB deflated 20000 x 20000 upload: 413 from its header, the predictor never
    called, and Python-level allocations stay small."""
    import tracemalloc

    from mmchest.synthetic import write_deflate_bomb
    app, predictor, upload_dir = app
    write_deflate_bomb(tmp_path / 'bomb.dcm', 20000, 20000)
    data = (tmp_path / 'bomb.dcm').read_bytes()
    assert len(data) < 0.5 * 2**20  # under the upload cap of this app
    tracemalloc.start()
    try:
        resp = _post(app.test_client(), data, 'bomb.dcm')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert resp.status_code == 413
    text = resp.get_data(as_text=True)
    assert 'image too large: 20000 x 20000' in text and 'pixel budget' in text
    assert predictor.paths == [] and not list(upload_dir.iterdir())
    assert peak < 64 * 2**20, f'peak traced allocation {peak / 2**20:.0f} MiB'


def test_missing_file_and_no_file_routes(app):
    app, _, _ = app
    client = app.test_client()
    resp = client.post('/predict', data={}, content_type='multipart/form-data')
    assert resp.status_code == 400 and 'No file uploaded' in resp.data.decode()
    for url in ('/uploads/x.dcm', '/static/../serve.py', '/predict?path=/etc/passwd'):
        assert client.get(url).status_code in (404, 405)
    assert sorted(r.rule for r in app.url_map.iter_rules() if r.endpoint != 'static') == \
        ['/', '/predict']


# ------------------------------------------------------------------------- browser test
class Chromium:
    """Minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary, profile):
        self._cmd_r, self._cmd_w = os.pipe()  # we write commands; browser reads fd 3
        self._res_r, self._res_w = os.pipe()  # browser writes fd 4; we read
        args = [binary, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--remote-debugging-pipe',
                f'--user-data-dir={profile}', 'about:blank']
        # a tiny Python trampoline maps our pipe ends onto the fds 3 and 4 the browser
        # expects (via fds >= 10, so no end is overwritten before it is copied)
        remap = ('import fcntl, os, sys\n'
                 'a, b = (fcntl.fcntl(int(f), fcntl.F_DUPFD, 10) for f in sys.argv[1:3])\n'
                 'os.dup2(a, 3)\nos.dup2(b, 4)\nos.closerange(5, 1024)\n'
                 'os.execv(sys.argv[3], sys.argv[3:])')
        self.proc = subprocess.Popen([sys.executable, '-c', remap, str(self._cmd_r),
                                      str(self._res_w)] + args,
                                     pass_fds=(self._cmd_r, self._res_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self._cmd_r)
        os.close(self._res_w)
        self._buf = b''
        self._next_id = 0
        self.events = []
        self.session = None

    def _read_messages(self, timeout):
        ready, _, _ = select.select([self._res_r], [], [], timeout)
        if ready:
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f'Chromium exited (status {self.proc.poll()})')
            self._buf += chunk
        while b'\0' in self._buf:
            raw, self._buf = self._buf.split(b'\0', 1)
            yield json.loads(raw)

    def send(self, method, params=None, timeout=60, session=True):
        self._next_id += 1
        msg = dict(id=self._next_id, method=method, params=params or {})
        if session and self.session:
            msg['sessionId'] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b'\0')
        deadline = time.time() + timeout
        while time.time() < deadline:
            for reply in self._read_messages(1.0):
                if reply.get('id') == self._next_id:
                    if 'error' in reply:
                        raise RuntimeError(f'{method}: {reply["error"]}')
                    return reply['result']
                self.events.append(reply)
        raise TimeoutError(f'no reply to {method} in {timeout} s')

    def wait_event(self, method, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, event in enumerate(self.events):
                if event.get('method') == method:
                    return self.events.pop(i)
            self.events.extend(self._read_messages(1.0))
        raise TimeoutError(f'no {method} event in {timeout} s')

    def open_page(self):
        target = self.send('Target.createTarget', {'url': 'about:blank'}, session=False)
        self.session = self.send('Target.attachToTarget',
                                 {'targetId': target['targetId'], 'flatten': True},
                                 session=False)['sessionId']
        self.send('Page.enable')

    def navigate(self, url):
        self.events.clear()
        self.send('Page.navigate', {'url': url})
        self.wait_event('Page.loadEventFired')

    def evaluate(self, expression):
        return self.send('Runtime.evaluate', {'expression': expression,
                                              'returnByValue': True})['result'].get('value')

    def upload(self, selector, path):
        root = self.send('DOM.getDocument')['root']['nodeId']
        node = self.send('DOM.querySelector', {'nodeId': root, 'selector': selector})['nodeId']
        self.send('DOM.setFileInputFiles', {'files': [str(path)], 'nodeId': node})

    def submit(self):
        self.events.clear()
        self.evaluate("document.getElementById('submit').click()")
        self.wait_event('Page.loadEventFired')

    def close(self):
        try:
            self.send('Browser.close', session=False, timeout=5)
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)


def _chromium():
    return next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def chromium():
    """The Chromium binary; the browser test is skipped only when there is none."""
    binary = _chromium()
    if binary is None:
        pytest.skip('Chromium is not installed (Debian: apt-get install chromium; '
                    '`make test` installs it), so the browser test cannot run')
    return binary


@pytest.fixture(scope='module')
def server(tmp_path_factory, repo_root, rigged_segmentor):
    """tools/serve.py on a free port with a demo U-Net whose logits are forced to +10."""
    tmp = tmp_path_factory.mktemp('serve')
    cfg, ckpts = rigged_segmentor
    ckpt = shutil.copy(ckpts['positive'], tmp / 'positive.pth')
    port = _free_port()
    log = open(tmp / 'server.log', 'w+')
    env = dict(os.environ, PATH=f'{os.path.dirname(sys.executable)}{os.pathsep}'
               f'{os.environ.get("PATH", "")}', OMP_NUM_THREADS='2', TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, str(repo_root / 'tools/serve.py'), cfg, str(ckpt),
                             '--port', str(port), '--device', 'cpu', '--max-upload-mb', '1'],
                            cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 300

    def stop():
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        return proc.returncode

    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            log.seek(0)
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f'tools/serve.py did not come up:\n{log.read()[-4000:]}')
            time.sleep(1)
        yield dict(url=url, tmp=tmp, stop=stop)
    finally:
        stop()
        log.close()


def test_browser_upload_shows_overlay(chromium, server, tmp_path):
    dicom = tmp_path / 'upload.dcm'
    write_dicom(dicom, chest_radiograph(SIZE, [3, 2]).image)
    png = tmp_path / 'photo.png'
    cv2.imwrite(str(png), chest_radiograph(SIZE, [3, 3]).image)
    browser = Chromium(chromium, tmp_path / 'profile')
    try:
        browser.open_page()
        browser.navigate(server['url'])
        assert browser.evaluate('document.title') == 'mmchest demo'
        browser.upload('input[type=file]', dicom)
        browser.submit()
        page = browser.evaluate(
            "JSON.stringify({src: (document.getElementById('overlay') || {}).src || '',"
            " width: (document.getElementById('overlay') || {}).naturalWidth || 0,"
            " complete: (document.getElementById('overlay') || {}).complete || false,"
            " p: (document.getElementById('probability') || {}).textContent,"
            " finding: (document.getElementById('finding') || {}).textContent})")
        page = json.loads(page)
        assert page['src'].startswith('data:image/png;base64,')
        assert page['complete'] and page['width'] == SIZE  # the browser decoded the overlay
        assert page['p'] == '1.000' and page['finding'] == 'finding'
        # a PNG is refused with a message on the page
        browser.navigate(server['url'])
        browser.upload('input[type=file]', png)
        browser.submit()
        error = browser.evaluate("(document.getElementById('error') || {}).textContent")
        assert error.startswith('photo.png is not a DICOM file')
        assert browser.evaluate("document.getElementById('overlay')") is None
    finally:
        browser.close()
    # the server's working and temporary folder (TMPDIR) holds only what the test put
    # there: uploads lived in a private temporary directory, removed on SIGTERM
    assert server['stop']() == 0
    assert sorted(os.listdir(server['tmp'])) == ['positive.pth', 'server.log']
