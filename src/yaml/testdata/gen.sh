#!/bin/sh
# Regenerates the kubectl golden for the scalar-printing test:
#   cases.json  - one resource holding many tricky strings, keys and numbers (JSON is YAML)
#   golden.yaml - what `kubectl kustomize` (v5.5.0) prints for it
# Run from anywhere; needs python3 and kubectl.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$here/cases.json" <<'PY'
import json, sys
strings = [
    # numbers and things that look like them
    "1", "01", "0755", "08", "1_000", "0b101", "0b-1", "0o17", "0x1F", "0X1f", "+1", "-1", "-0",
    "1e3", "1E3", "1e+3", "1e", ".5", "1.", "-.5", "+.5", "1e400", ".5e999", "1.2.3", "0x", "0b",
    "0o", "+", "-", ".", "..", "...", "---", "--- a", "... a", "-a", "- a", "-  a", "1,000",
    "1 000", "1:20", "12:30:45", "190:20:30.15", "1:60", "-1:20", "9223372036854775808",
    "18446744073709551616", "._5", ".5_0", "1__0", "_1", "0_", "1e3_",
    # booleans, YAML 1.1 and 1.2
    "y", "Y", "yes", "Yes", "YES", "yES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
    "tRUE", "false", "False", "FALSE", "on", "On", "ON", "oN", "off", "Off", "OFF", "yes ",
    # nulls and special floats
    "", "~", "null", "Null", "NULL", "nULL", "none", ".inf", ".Inf", ".INF", "+.inf", "-.inf",
    "-.Inf", ".nan", ".NaN", ".NAN", "inf", "nan", "NaN", "Infinity", "<<", "<", "=",
    # timestamps
    "2001-12-14", "2001-12-14T21:59:43.10Z", "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43", "2001-12-14 21:59:43.10", "2001-13-14", "2001-02-29", "2000-02-29",
    "20011-12-14", "2001-1-1", "2001-12-14T21:59:43", "2001-12-14 21:59:43 +5",
    # indicators
    "#", "#a", ",", ",a", "[", "[a]", "]", "{", "{a}", "}", "&", "&a", "*", "*a", "!", "!a",
    "|", "|a", ">", ">a", "'", "'a", "\"", "\"a", "%", "%a", "@", "@a", "`", "`a", "?", "?a",
    "? a", ":", ":a", ": a", "a: b", "a:b", "a:", "a :", "a #b", "a#b", "a, b", "a[b]", "a{b}",
    "a ?b", "a?", "http://x.y/z?q=1#f", "a -b", "a - b", "a!", "a&b", "a*", "a|b", "a>b",
    "a'b", "a\"b", "a%b", "a@b", "a`b", "$(VAR)", "${VAR}", "=a", "~a", "a~",
    # whitespace and line breaks
    " a", "a ", "  ", " ", "\t", "a\tb", "\ta", "a\t", "a\n", "\na", "a\nb", "a\n\nb", "a\n b",
    "a \nb", "a\n\n", "a\n\n\n", "\n", "\n\n", " a\nb", " a\nb\n", "a\r\nb", "a\rb",
    "a\u2028b", "a\nb ", "a\n\tb", "a\nb\n ", "  indented\n  text\n",
    # quotes and escapes
    "it's", "'quoted'", "\"dq\"", "a\\b", "back\\slash\n", "'", "''",
    # unicode
    "é", "日本語", "😀", "a😀", "\u00a0", "a\u00a0b", "\ufeffx", "\u200b", "\u0007",
    "\u0000", "\ue000", "\ufffd", "\u00ff", "\u0100",
    # long text (line folding)
    " ".join(["word"] * 30),
    " ".join(["longerword%02d" % i for i in range(12)]),
    "x" * 100,
    "x" * 79 + " " + "y" * 10,
    "x" * 80 + " " + "y" * 10,
    "x" * 81 + " " + "y" * 10,
    "x" * 79 + "  " + "y" * 10,
    "x" * 85 + "  " + "y" * 10 + " z",
    "yes " + " ".join(["word"] * 30),
    "@" + " ".join(["word"] * 30),
    " leading " + " ".join(["word"] * 30),
    " ".join(["word"] * 30) + " ",
    "\t" + " ".join(["w"] * 60),
    "😀 " + " ".join(["word"] * 30),
    "it's " + " ".join(["word"] * 30) + " :",
    " ".join(["w"] * 40) + "\n" + " ".join(["v"] * 40) + "\n",
    "a\n" + "x" * 100 + "\n",
    " ".join(["word"] * 30) + " \n",
]
keys = ["a", "B", "b", "_a", "1", "10", "9", "a1", "a10", "a2", "a01", "a001", "a0", "a00",
        "x-1", "x.1", "x/1", "é", "Z", "z9", "z09", "z10", "aa", "a-b", "a_b", "a.b", "A1",
        "yes", "null", "", "~", "key: x", "k\nl", "k" * 130, "k" * 128, "😀", "-", "app.kubernetes.io/name",
        "a1b2", "a1b10", "a01b", "a10b", "0", "00", "007", "7", "1.5", "-1", "ß", "Ä", "ä"]
numbers = [0, 1, -1, 1.5, -2.25, 1e20, 1e21, 1.0, 0.1, 1e-7, 0.000001, 0.00001, 0.0001,
           123456789012345678, 1.7976931348623157e308, 5e-324, 9007199254740993,
           18446744073709551615, -9223372036854775808, 1234567.5, 123456.5, 100000, 1000000.5,
           3.14159, 2.5e-5, 1e100]
doc = {
    "apiVersion": "example.com/v1",
    "kind": "Thing",
    "metadata": {"name": "cases"},
    "spec": {
        "strings": {"s%03d" % i: s for i, s in enumerate(strings)},
        "list": strings,
        "keys": {k: i for i, k in enumerate(keys)},
        "numbers": numbers,
        "nested": [[["a"], []], [{}], [{"x": [1, [2, {"y": {}}]], "z": "w"}], {"e": [], "f": {}}, None, True, False],
    },
}
with open(sys.argv[1], "w", encoding="utf-8") as f:
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    # Raw control characters are not allowed in a YAML file: keep those escaped.
    text = "".join(c if c.isprintable() or c == "\n" else "\\u%04x" % ord(c) for c in text)
    f.write(text + "\n")
PY
cp "$here/cases.json" "$work/cases.json"
printf 'resources:\n- cases.json\n' > "$work/kustomization.yaml"
kubectl kustomize "$work" > "$here/golden.yaml"
