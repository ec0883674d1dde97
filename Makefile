.PHONY: demo test docs bench translations
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
docs:
	bash scripts/docs.sh
bench:
	bash scripts/bench.sh

translations:
	bash scripts/translations.sh
