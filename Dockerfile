# Worker and launcher image for Tendencias on Dataflow or Flink (portable runner).
# Based on Beam's Python SDK image of the pinned release, so the SDK harness matches the
# launcher. Installs with scripts/install.sh, the same step scripts/setup.sh runs for .venv.
#
#   docker build -t REGISTRY/tendencias:0.1.0 .
#   Worker:   --sdk_container_image=REGISTRY/tendencias:0.1.0  (entrypoint stays Beam's boot)
#   Launcher: docker run --entrypoint tendencias REGISTRY/tendencias:0.1.0 run --runner=... 
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/tendencias
COPY setup.py constraints.txt README.md ./
COPY scripts/install.sh scripts/install.sh
COPY tendencias ./tendencias
RUN scripts/install.sh python \
    && python -c "import tendencias, apache_beam, tensorflow_transform; print('tendencias', tendencias.__version__)"

# No secrets in the image: OPENAI_API_KEY and TENDENCIAS_KAFKA_SASL_PASSWORD come from the
# runtime environment (a secret manager or the cluster's secret store).
ENV PYTHONUNBUFFERED=1
