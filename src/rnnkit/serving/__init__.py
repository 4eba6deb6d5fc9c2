"""``rnnkit serve``: any trained rnnkit model behind HTTP, with a page a person can use.

:mod:`~rnnkit.serving.model` loads the model (on onnxruntime where it is installed: no torch), the
:mod:`~rnnkit.serving.batcher` answers concurrent requests with one model call, :mod:`~rnnkit.serving.limits`
bounds each request, :mod:`~rnnkit.serving.app` is the FastAPI application, :mod:`~rnnkit.serving.page` the web page,
and :mod:`~rnnkit.serving.server` runs it all with uvicorn. FastAPI and uvicorn are the optional ``[serve]`` extra.
"""
