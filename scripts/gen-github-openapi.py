#!/usr/bin/env python3
"""Vendor the part of GitHub's OpenAPI description that Warden uses.

Reads api.github.com.json from the npm package @octokit/openapi (GitHub's own description,
republished by Octokit) and writes data/github/openapi-subset.json: for every operation Warden
or its simulator uses, the JSON Schema of the request body and of each documented response, with
the component schemas they reference. OpenAPI 3.0 `nullable` is turned into JSON Schema's
`"type": [..., "null"]` so a plain JSON Schema validator can check exchanges.

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python3 scripts/gen-github-openapi.py package/generated/api.github.com.json
"""
import json
import sys
from pathlib import Path

VERSION = "23.0.2"

# method, path template: every GitHub REST operation Warden's client or the simulator serves.
OPERATIONS = [
    ("get", "/app"),
    ("get", "/app/installations"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/app/hook/deliveries"),
    ("get", "/app/hook/deliveries/{delivery_id}"),
    ("post", "/app/hook/deliveries/{delivery_id}/attempts"),
    ("get", "/installation/repositories"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/tarball/{ref}"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
]

# Keywords that only document; dropped to keep the vendored file small.
DOC_KEYS = {"description", "example", "examples", "summary", "externalDocs", "x-github", "title"}


def main() -> None:
    src = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2] if len(sys.argv) > 2 else "data/github/openapi-subset.json")
    comps = src["components"]
    wanted: set[str] = set()

    def deref(obj):
        """Inline components/parameters|responses|headers; keep schema refs as refs."""
        while isinstance(obj, dict) and "$ref" in obj and not obj["$ref"].startswith("#/components/schemas/"):
            _, _, kind, name = obj["$ref"].split("/")
            obj = comps[kind][name]
        return obj

    def convert(s):
        if isinstance(s, list):
            return [convert(x) for x in s]
        if not isinstance(s, dict):
            return s
        s = deref(s)
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[1]
            wanted.add(name)
            return {"$ref": f"#/definitions/{name}"}
        out = {}
        for k, v in s.items():
            if k in DOC_KEYS or k == "nullable":
                continue
            if k in ("properties", "patternProperties"):
                out[k] = {p: convert(x) for p, x in v.items()}
            else:
                out[k] = convert(v)
        if s.get("nullable"):
            t = out.get("type")
            if isinstance(t, str):
                out["type"] = [t, "null"]
                if "enum" in out:
                    out["enum"] = list(out["enum"]) + [None]
            elif any(k in out for k in ("allOf", "anyOf", "oneOf", "$ref")):
                out = {"anyOf": [{"type": "null"}, out]}
        return out

    ops = {}
    for method, path in OPERATIONS:
        op = src["paths"][path][method]
        entry = {"operationId": op["operationId"], "docs": op.get("externalDocs", {}).get("url")}
        params = []
        for p in op.get("parameters", []):
            p = deref(p)
            params.append({"name": p["name"], "in": p["in"], "required": p.get("required", False),
                           "schema": convert(p.get("schema", {}))})
        entry["parameters"] = params
        body = op.get("requestBody")
        if body:
            body = deref(body)
            schema = body.get("content", {}).get("application/json", {}).get("schema")
            entry["request"] = {"required": body.get("required", False),
                                "schema": convert(schema) if schema else None}
        responses = {}
        for status, r in op["responses"].items():
            r = deref(r)
            content = r.get("content", {})
            media = next((m for m in content if "json" in m), None)
            responses[status] = convert(content[media]["schema"]) if media and "schema" in content[media] else None
        entry["responses"] = responses
        ops[f"{method.upper()} {path}"] = entry

    definitions = {}
    while wanted - definitions.keys():
        name = sorted(wanted - definitions.keys())[0]
        definitions[name] = None
        definitions[name] = convert(comps["schemas"][name])

    out = {
        "source": f"npm @octokit/openapi@{VERSION}, generated/api.github.com.json (OpenAPI {src['openapi']}, API {src['info']['version']})",
        "generated_by": "scripts/gen-github-openapi.py",
        "operations": ops,
        "definitions": dict(sorted(definitions.items())),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(f"{out_path}: {len(ops)} operations, {len(definitions)} schemas, {out_path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
