"""Supply chain: pip-audit over the installed (pinned) dependencies.

Fails on a known vulnerability that has a fixed version. When the vulnerability service
cannot be reached (machines whose only way out is a package mirror), pip-audit skips every
package; that is reported loudly as "not audited", never as "no vulnerabilities".
"""
import json
import subprocess
import sys

venv_bin = sys.argv[1]
out = subprocess.run([f"{venv_bin}/pip-audit", "--skip-editable", "--progress-spinner", "off", "-f", "json"],
                     capture_output=True, text=True)
try:
    report = json.loads(out.stdout)
except json.JSONDecodeError:
    print("pip-audit: no report:", out.stderr[-2000:])
    sys.exit(1)
deps = report["dependencies"]
skipped = [d for d in deps if d.get("skip_reason")]
fixable = [(d["name"], d["version"], v["id"], v["fix_versions"]) for d in deps for v in d.get("vulns", [])
           if v.get("fix_versions")]
unfixed = [(d["name"], d["version"], v["id"]) for d in deps for v in d.get("vulns", []) if not v.get("fix_versions")]
for name, version, vid, fixes in fixable:
    print(f"pip-audit: {name} {version}: {vid}, fixed in {', '.join(fixes)}")
for name, version, vid in unfixed:
    print(f"pip-audit: {name} {version}: {vid} (no fixed version yet; not failing)")
audited = len(deps) - len(skipped)
if audited == 0:
    print(f"pip-audit: NOT AUDITED: the vulnerability service was not reachable ({len(skipped)} packages skipped)")
else:
    print(f"pip-audit: {audited} packages audited, {len(skipped)} skipped, {len(fixable)} fixable vulnerabilities")
sys.exit(1 if fixable else 0)
