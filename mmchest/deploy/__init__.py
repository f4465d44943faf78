"""Deployment: ONNX export of the segmentation models and an onnxruntime inferencer.

- :mod:`mmchest.deploy.onnx_export` (needs torch + mmseg): ``export_onnx`` writes the graph
  and its preprocessing as JSON metadata (``tools/export.py``);
- :mod:`mmchest.deploy.onnxruntime_backend` (numpy, cv2, onnxruntime; no mmcv/mmseg/mmdet):
  ``OnnxSegInferencer`` replays that preprocessing and returns the inference API's
  ``Prediction``;
- :mod:`mmchest.deploy.preprocessing`: the pure test-pipeline steps both share.

Nothing is imported here, so each module pulls in only what it needs.
"""
