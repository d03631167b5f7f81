# Shortcuts for ./dev (the real entry point). Extra arguments: make test ARGS="-k redis -x"
.PHONY: up test bench lint
up test bench lint:
	./dev $@ $(ARGS)
