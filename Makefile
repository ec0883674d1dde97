.PHONY: demo test docs bench soak translations lock screenshots flamegraphs fuzz cluster chain test-online-postgresql
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
docs:
	bash scripts/docs.sh
bench:
	bash scripts/bench.sh
# The docs' flame graphs of the lookup path (py-spy): make flamegraphs [BEFORE=<commit>]
flamegraphs:
	bash scripts/flamegraphs.sh $(BEFORE)
# A 3-node NATS cluster with MQTT and JetStream on free ports, until Ctrl-C
cluster:
	bash scripts/cluster.sh
# 500 simulated stores + 2 real edges, on the cluster then on Mosquitto, with faults
chain:
	bash scripts/chain.sh
# The online store's whole test folder on PostgreSQL (each test in a schema of its own;
# PASSERELLE_TEST_POSTGRES names the server, default postgresql://postgres@127.0.0.1:5432/test)
test-online-postgresql:
	PASSERELLE_TEST_ONLINE_DB=postgresql $(or $(PASSERELLE_VENV),.venv)/bin/python -m pytest tests/online_store

# The sync under random faults for SOAK_MINUTES (10 by default), then a count of both sides
# (bench/soak.py; the CI runs 30 s of it in tests/sync/test_soak.py).
SOAK_MINUTES ?= 10
soak:
	$(or $(PASSERELLE_VENV),.venv)/bin/python -m bench.soak --minutes $(SOAK_MINUTES)

translations:
	bash scripts/translations.sh

# The lock files with hashes, from pyproject.toml and requirements/*.in (pip-tools):
#   requirements/dev.txt   the runtime + the test extra + requirements/dev.in (scripts/setup.sh)
#   requirements/base.txt  the runtime alone, at the versions of dev.txt (a store box)
# Kept pins stay unless asked: make lock LOCK_ARGS=--upgrade, or LOCK_ARGS="-P flask".
# Resolved on the package index alone: this machine's pip configuration (extra indexes,
# local wheels) must not leak into the lock; LOCK_ENV= keeps it when it holds your mirror.
# The lock is resolved for the Python that runs it: 3.11, the store box's.
LOCK_VENV ?= $(or $(PASSERELLE_VENV),.venv)
LOCK_ENV ?= PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS=
LOCK_ARGS ?=
PIP_COMPILE = $(LOCK_ENV) $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
# sync/online_store/pyproject.toml is not a source here: it depends on `passerelle`, which
# no index has; its other dependencies are listed in requirements/dev.in, and the `pip check`
# of scripts/setup.sh fails when one is missing from the lock.
lock:
	@test -x $(LOCK_VENV)/bin/pip-compile || \
		bash -c 'PASSERELLE_VENV=$(LOCK_VENV); source scripts/setup.sh && ensure_venv'
	$(PIP_COMPILE) --extra test -o requirements/dev.txt \
		pyproject.toml requirements/dev.in
	$(PIP_COMPILE) -o requirements/base.txt pyproject.toml requirements/base.in

# The screens' screenshots in docs/screenshots (the browser tests save them only when asked)
screenshots:
	PASSERELLE_SCREENSHOTS=1 bash scripts/test.sh -m browser tests/screens

# Schemathesis over every operation with every role's token, 50 examples each (the suite
# runs 1): tests/security/test_fuzz_roles.py
fuzz:
	PASSERELLE_FUZZ_EXAMPLES=50 $(or $(PASSERELLE_VENV),.venv)/bin/python -m pytest -q \
		tests/security/test_fuzz_roles.py
