"""A real Orthanc (Debian packages ``orthanc`` + ``orthanc-dicomweb``) for the PACS tests:
HTTP on a free 127.0.0.1 port, no DICOM port, storage in tmp_path, stopped afterwards."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

ORTHANC = shutil.which('Orthanc') or '/usr/sbin/Orthanc'
DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class OrthancServer:
    """A running Orthanc: ``url`` (REST root), ``dicomweb`` (DICOMweb root), ``get(path)``."""

    def __init__(self, root):
        self.port = _free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.dicomweb = f'{self.url}/dicom-web'
        storage = root / 'storage'
        self.config = root / 'orthanc.json'
        self.config.write_text(json.dumps({
            'Name': 'mmchest-test',
            'StorageDirectory': str(storage),
            'IndexDirectory': str(storage),
            'HttpPort': self.port,
            'DicomServerEnabled': False,
            'RemoteAccessAllowed': False,
            'AuthenticationEnabled': False,
            'Plugins': [DICOMWEB_PLUGIN],
            'DicomWeb': {'Enable': True, 'Root': '/dicom-web/'},
        }, indent=1))
        self.log = open(root / 'orthanc.log', 'w')  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen([ORTHANC, str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=root)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get('/system')
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (root / 'orthanc.log').read_text()[-3000:]
                    pytest.fail(f'Orthanc did not start (exit {self.proc.returncode}):\n{log}')
                time.sleep(0.2)

    def get(self, path):
        """GET ``path`` of the REST API, decoded from JSON."""
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def upload(self, path):
        """POST a DICOM file to /instances (Orthanc's own REST API); returns its Orthanc id."""
        with open(path, 'rb') as f:
            data = f.read()
        req = urllib.request.Request(self.url + '/instances', data=data,
                                     headers={'Content-Type': 'application/dicom'})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())['ID']

    def instances_tags(self):
        """``{SOPInstanceUID: simplified tags}`` of every stored instance."""
        tags = [self.get(f'/instances/{i}/tags?simplify') for i in self.get('/instances')]
        return {t['SOPInstanceUID']: t for t in tags}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def orthanc(tmp_path):
    """A fresh Orthanc per test; skipped only when the Orthanc binary is absent."""
    if not os.path.exists(ORTHANC):
        pytest.skip('Orthanc is not installed (Debian: apt-get install orthanc '
                    'orthanc-dicomweb, or `make test-deps`)')
    if not os.path.exists(DICOMWEB_PLUGIN):
        pytest.skip(f'the Orthanc DICOMweb plugin is not installed ({DICOMWEB_PLUGIN}; '
                    'Debian: apt-get install orthanc-dicomweb, or `make test-deps`)')
    root = tmp_path / 'orthanc'
    root.mkdir()
    server = OrthancServer(root)
    yield server
    server.stop()
