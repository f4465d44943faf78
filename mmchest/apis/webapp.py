"""The browser demo of ``tools/serve.py``: upload a DICOM, see the radiograph with the overlay.

Safety: only DICOM uploads are accepted (Part 10 prefix, or a ``.dcm``/``.dicom`` name whose
content parses as DICOM), at most ``max_upload_mb``; others get a 400/413 page that says
why. The header's declared size (Rows x Columns x frames x samples) is checked against
``max_pixels`` before anything is decoded or inflated, so a small decompression bomb gets a
413 instead of taking the server's memory. Each upload is written under a private temporary
directory with a server-chosen name, predicted, and deleted; the uploaded file name is only
shown (escaped), never used as a path. Results are embedded in the page as ``data:`` URIs, so
no route serves files. Needs Flask (imported when the app is built).
"""
from __future__ import annotations

import base64
import os
import os.path as osp
import shutil
import tempfile
import threading
from typing import Optional

import cv2

from .inputs import READ_ERRORS

__all__ = ['DICOM_SUFFIXES', 'PAGE', 'looks_like_dicom', 'create_app']

DICOM_SUFFIXES = ('.dcm', '.dicom')


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mmchest demo</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 60em; }
.error { color: #b00020; font-weight: bold; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #888; }
</style></head><body>
<h1>mmchest: chest X-ray demo</h1>
<p>Model: {{ task }} ({{ config }}). Upload a DICOM file (at most {{ max_mb }} MB).</p>
<form method="post" action="/predict" enctype="multipart/form-data">
  <input type="file" name="file" accept=".dcm,.dicom,application/dicom" required>
  <button type="submit" id="submit">Predict</button>
</form>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
{% if result %}
<h2>{{ result.name }}</h2>
<p>Finding probability: <strong id="probability">{{ '%.3f' % result.probability }}</strong>
 &mdash; <span id="finding">{{ 'finding' if result.has_finding else 'no finding' }}</span>
 ({{ result.detail }})</p>
<img id="overlay" alt="radiograph with the model's overlay" src="{{ result.src }}"
     width="{{ result.width }}" height="{{ result.height }}">
{% endif %}
</body></html>
"""


def looks_like_dicom(data: bytes, filename: str) -> bool:
    """Whether an upload may be DICOM: Part 10 prefix, or a DICOM file-name suffix."""
    from mmchest.io.dicom import has_dicom_prefix
    return has_dicom_prefix(data) or filename.lower().endswith(DICOM_SUFFIXES)


def create_app(predictor, max_upload_mb: float = 64, upload_dir: Optional[str] = None,
               label: str = '', max_pixels: Optional[int] = None):
    """Build the Flask app around an inferencer.

    Args:
        predictor: An inferencer (:func:`mmchest.apis.init_inferencer`), or any object with
            ``task`` ('seg'/'det') and ``predict_file(path) -> Prediction``.
        max_upload_mb (float): Largest accepted request, in MiB. Defaults to 64.
        upload_dir (str, optional): Private folder for uploads; None creates a temporary
            directory (removed when the process exits normally).
        label (str): Model description shown on the page. Defaults to ''.
        max_pixels (int, optional): Pixel budget of an upload; None uses
            ``mmchest.io.dicom.DEFAULT_MAX_PIXELS``. Defaults to None.

    Returns:
        flask.Flask: The app; ``app.config['UPLOAD_DIR']`` is the upload folder.
    """
    from flask import Flask, render_template_string, request
    from werkzeug.exceptions import RequestEntityTooLarge

    from mmchest.io.dicom import (DEFAULT_MAX_PIXELS, DicomReadError, DicomTooLargeError,
                                  check_dicom_budget)
    if max_pixels is None:
        max_pixels = DEFAULT_MAX_PIXELS

    app = Flask('mmchest_demo')
    app.config['MAX_CONTENT_LENGTH'] = int(max_upload_mb * 1024 * 1024)
    if upload_dir is None:
        upload_dir = tempfile.mkdtemp(prefix='mmchest-serve-')
        import atexit
        atexit.register(shutil.rmtree, upload_dir, True)
    app.config['UPLOAD_DIR'] = upload_dir
    lock = threading.Lock()
    task = 'segmentation' if predictor.task == 'seg' else 'detection'

    def page(status: int = 200, **kwargs):
        return render_template_string(PAGE, task=task, config=label, max_mb=max_upload_mb,
                                      error=kwargs.get('error'),
                                      result=kwargs.get('result')), status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_err):
        return page(413, error=f'File too large: uploads are limited to {max_upload_mb:g} MB.')

    @app.get('/')
    def index():
        return page()

    @app.post('/predict')
    def predict():
        upload = request.files.get('file')
        if upload is None or not upload.filename:
            return page(400, error='No file uploaded: choose a DICOM file.')
        data = upload.read()
        name = osp.basename(upload.filename.replace('\\', '/'))
        if not data:
            return page(400, error=f'{name}: the file is empty.')
        if not looks_like_dicom(data, name):
            return page(400, error=f'{name} is not a DICOM file: only DICOM uploads '
                        '(.dcm with the DICM prefix) are accepted.')
        try:  # header only: nothing is decoded or inflated yet
            check_dicom_budget(data, name, max_pixels)
        except DicomTooLargeError as err:
            return page(413, error=f'{err.reason}.')
        except DicomReadError as err:
            return page(400, error=f'{name} is not a readable DICOM image ({err.reason}).')
        fd, path = tempfile.mkstemp(suffix='.dcm', dir=app.config['UPLOAD_DIR'])
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
            with lock:
                pred = predictor.predict_file(path)
        except READ_ERRORS as err:
            return page(400, error=f'{name} is not a readable DICOM image '
                        f'({type(err).__name__}: {str(err).replace(path, name)}).')
        finally:
            if osp.exists(path):
                os.remove(path)
        ok, png = cv2.imencode('.png', pred.overlay())
        if not ok:  # pragma: no cover - cv2 encodes any uint8 BGR image
            return page(500, error='could not encode the overlay')
        height, width = pred.image.shape[:2]
        detail = (f'{int(pred.mask.sum())} finding pixels' if pred.mask is not None else
                  f'{len(pred.boxes)} box(es) above the threshold')
        result = dict(name=name, probability=pred.probability, has_finding=pred.has_finding,
                      detail=detail, width=width, height=height,
                      src='data:image/png;base64,' + base64.b64encode(png.tobytes()).decode())
        return page(result=result)

    return app


def run_server(config: str, checkpoint: Optional[str], host: str = '127.0.0.1',
               port: int = 8000, max_upload_mb: float = 64, max_pixels: Optional[int] = None,
               score_thr: float = 0.5, device: Optional[str] = None) -> int:
    """Load the model of ``config`` and serve the demo until SIGTERM/Ctrl-C.

    Args:
        config (str): mmseg or mmdet config of this project.
        checkpoint (str, optional): Checkpoint (must fit the model).
        host (str): Interface to bind. Defaults to '127.0.0.1'.
        port (int): Port. Defaults to 8000.
        max_upload_mb (float): Largest accepted upload, MiB. Defaults to 64.
        max_pixels (int, optional): Pixel budget of an upload (and of the DICOM loader);
            None: 8192 x 8192.
        score_thr (float): Detection: boxes with ``score > score_thr``. Defaults to 0.5.
        device (str, optional): None picks CUDA when available.

    Returns:
        int: 0 after a normal shutdown; 1 when the checkpoint cannot be used (reported on
        stderr before anything is served).
    """
    import signal
    import sys

    from mmchest.engine.checkpoint_fit import CHECKPOINT_ERRORS

    from .inferencers import init_inferencer
    try:
        inferencer = init_inferencer(config, checkpoint, device=device, score_thr=score_thr,
                                     max_pixels=max_pixels)
    except CHECKPOINT_ERRORS as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    app = create_app(inferencer, max_upload_mb, label=osp.basename(config),
                     max_pixels=max_pixels)
    # SIGTERM exits normally, so the upload directory is removed (atexit)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f'serving {inferencer.task} model on {inferencer.device} at '
          f'http://{host}:{port}/ (uploads in {app.config["UPLOAD_DIR"]})', flush=True)
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0
