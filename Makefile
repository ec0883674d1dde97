.PHONY: demo test bench translations
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/bench.sh

translations:
	bash scripts/translations.sh
