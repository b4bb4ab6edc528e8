"""What one decision costs the compiled policy, in WebAssembly instructions.

Timings move with the machine; instruction counts do not. This evaluates each input once per
bundle under wasmtime's instruction metering ("fuel": one unit per instruction) and prints the
count of `opa_eval` (parsing the input included, then without it), so a change to rego/ can be
weighed exactly, and two bundles side by side:

    .tools/python/bin/python bench/policy-cost.py [--bundle FILE]... INPUT.json...

An INPUT is a policy input document, or what `sluice eval --json --input` prints. The default
bundle is build/bundle.tar.gz (`sluice build`). Exit status 2 on a bad argument or file.
"""

import argparse
import json
import sys
import tarfile

import wasmtime


def load(bundle_path):
    """The bundle's policy.wasm and data.json."""
    wasm = data = None
    with tarfile.open(bundle_path) as bundle:
        for member in bundle.getmembers():
            if member.name.endswith("policy.wasm"):
                wasm = bundle.extractfile(member).read()
            elif member.name.endswith("data.json"):
                data = bundle.extractfile(member).read()
    if wasm is None or data is None:
        raise ValueError(f"{bundle_path}: no policy.wasm or data.json")
    return wasm, data


class Policy:
    """One instance of a compiled policy, its data set, under instruction metering."""

    def __init__(self, wasm, data):
        config = wasmtime.Config()
        config.consume_fuel = True
        engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(engine)
        self.store.set_fuel(10**15)
        module = wasmtime.Module(engine, wasm)
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(5, 65536)))
        imports = []
        for entry in module.imports:
            if entry.name == "memory":
                imports.append(self.memory)
            elif entry.name == "opa_abort":
                imports.append(wasmtime.Func(self.store, entry.type, self._abort))
            else:
                # opa_println and the SDK's builtins: the policy is built with native builtins only.
                imports.append(wasmtime.Func(self.store, entry.type, lambda *_: 0))
        self.exports = wasmtime.Instance(self.store, module, imports).exports(self.store)
        address = self._call("opa_malloc", len(data))
        self.memory.write(self.store, data, address)
        self.data = self._call("opa_json_parse", address, len(data))
        self.heap = self._call("opa_heap_ptr_get")

    def _abort(self, address):
        raise RuntimeError(f"opa_abort: {self._string(address)}")

    def _string(self, address):
        """The NUL-terminated string at address (a wide decision's JSON runs to megabytes)."""
        size = self.memory.data_len(self.store)
        end = address
        while end < size:
            chunk = bytes(self.memory.read(self.store, end, min(end + 65536, size)))
            stop = chunk.find(b"\0")
            if stop >= 0:
                end += stop
                break
            end += len(chunk)
        return bytes(self.memory.read(self.store, address, end)).decode()

    def _call(self, name, *args):
        return self.exports[name](self.store, *args)

    def _metered(self, name, *args):
        before = self.store.get_fuel()
        result = self._call(name, *args)
        return result, before - self.store.get_fuel()

    def evaluate(self, text):
        """(instructions of opa_eval, of parsing the input alone, the result's JSON)."""
        self.memory.write(self.store, text, self.heap)
        end = self.heap + len(text)
        address, total = self._metered("opa_eval", 0, 0, self.data, self.heap, len(text), end, 0)
        result = self._string(address)
        self._call("opa_heap_ptr_set", end)
        _, parse = self._metered("opa_json_parse", self.heap, len(text))
        return total, parse, result


def input_text(path):
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    if isinstance(document, dict) and isinstance(document.get("input"), dict) and "decision" in document:
        document = document["input"]
    return json.dumps(document, separators=(",", ":")).encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", action="append", help="a compiled bundle (repeat to compare)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT.json")
    args = parser.parse_args()
    try:
        bundles = [(path, Policy(*load(path))) for path in args.bundle or ["build/bundle.tar.gz"]]
        inputs = [(path, input_text(path)) for path in args.inputs]
    except (OSError, ValueError, tarfile.TarError) as error:
        print(f"policy-cost: {error}", file=sys.stderr)
        return 2
    print("| input | bundle | instructions | without parsing the input | outcome |")
    print("| --- | --- | ---: | ---: | --- |")
    for input_path, text in inputs:
        for bundle_path, policy in bundles:
            policy.evaluate(text)  # the first evaluation grows the memory
            total, parse, result = policy.evaluate(text)
            outcome = json.loads(result)[0]["result"].get("outcome", "?")
            print(f"| {input_path} | {bundle_path} | {total:,} | {total - parse:,} | {outcome} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
