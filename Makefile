.PHONY: demo test bench translations screenshots
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/bench.sh

translations:
	bash scripts/translations.sh

# The screens' screenshots in docs/screenshots (the browser tests save them only when asked)
screenshots:
	PASSERELLE_SCREENSHOTS=1 bash scripts/test.sh -m browser tests/screens
