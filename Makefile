# Connected Mailboxes: the two commands (`make run`, `make test`) and the linters.
PYTHON ?= python3

.PHONY: deps run test bench lint format rotate-key

deps:
	@PYTHON=$(PYTHON) sh devstack/install-deps.sh

## run: Odoo 18 with the addon on http://localhost:8069 (admin/admin), a private
## PostgreSQL in .run/ and the local mail stack with demo accounts
run: deps
	$(PYTHON) -m devstack.run

## test: both tiers against real local services; ends with the total: line
test: deps
	$(PYTHON) -m devstack.runtests

## bench: speed figures with their baselines, measured in the same run (bench: lines)
bench: deps
	$(PYTHON) -m devstack.bench

lint: deps
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pylint --rcfile=.pylintrc-mandatory --recursive=y .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

## rotate-key: re-encrypt every mailbox secret of the `make run` database
rotate-key:
	$(PYTHON) -m devstack.run --rotate-key
