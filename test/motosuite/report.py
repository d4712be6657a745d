"""Pass rate per service from run.sh's junit XML, checked against deliberate.txt.

Usage: report.py JUNIT_XML DELIBERATE_TXT

A test counts when it ran (skipped tests, which moto skips in server mode,
do not). A failure is "unmodelled" when vpcsim refused an operation or
feature it does not model (InvalidAction, UnknownOperationException, also
when the test asserts on that code, or vpcsim's own "vpcsim does not
model"/"vpcsim models ... only" answers): those
are listed apart from failures of what vpcsim does model. Exit status 1 when a deliberate failure now passes (take it off
the list) and the list of unexpected failures is printed.
"""
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


UNMODELLED = re.compile(
    r"\((?:InvalidAction|UnknownOperationException|UnsupportedService)\) when calling the (\w+)"
    # a test that compares the error code it got with the one it wanted
    r"|assert \(?'(?:InvalidAction|UnknownOperationException|UnsupportedService)'"
    r"|vpcsim (?:does not model|models [^;]* only)"
)


def unmodelled(tc):
    for tag in ("failure", "error"):
        el = tc.find(tag)
        if el is not None and UNMODELLED.search((el.get("message") or "") + (el.text or "")):
            return True
    return False


def service(classname):
    parts = classname.split(".")
    return parts[1].removeprefix("test_") if len(parts) > 1 else classname


def main():
    junit, listfile = sys.argv[1], sys.argv[2]
    deliberate = {}
    with open(listfile) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                # A parameter id may hold a space: test_x[ ] why...
                m = re.match(r"(\S*?\[[^\]]*\]|\S+)\s*(.*)", line)
                deliberate[m.group(1)] = m.group(2).strip()
    ran = defaultdict(int)
    passed = defaultdict(int)
    failed = defaultdict(list)
    unmod = defaultdict(list)
    for tc in ET.parse(junit).getroot().iter("testcase"):
        if tc.find("skipped") is not None:
            continue
        cls = tc.get("classname", "")
        mod = cls.split(".")
        # tests.test_ec2.test_vpcs[.TestClass] -> tests/test_ec2/test_vpcs.py::[TestClass::]name
        path, rest = [], []
        for i, p in enumerate(mod):
            path.append(p)
            if p.startswith("test_") and i >= 2:
                rest = mod[i + 1 :]
                break
        nodeid = "/".join(path) + ".py::" + "::".join(rest + [tc.get("name")])
        svc = service(cls)
        ran[svc] += 1
        if tc.find("failure") is None and tc.find("error") is None:
            passed[svc] += 1
        elif unmodelled(tc):
            unmod[svc].append(nodeid)
        else:
            failed[svc].append(nodeid)
    total_ran = sum(ran.values())
    total_passed = sum(passed.values())
    unexpected, fixed = [], []
    for svc in sorted(ran):
        fails = set(failed[svc])
        expected = sum(1 for n in fails if n in deliberate)
        counted = ran[svc] - expected - len(unmod[svc])
        print(
            f"{svc:10} {passed[svc]:5}/{ran[svc]:<5} passed ({100 * passed[svc] / ran[svc]:.1f}%);"
            f" {len(unmod[svc])} at unmodelled operations, {expected} deliberate;"
            f" {passed[svc]}/{counted} = {100 * passed[svc] / max(counted, 1):.1f}% of the rest"
        )
        unexpected += sorted(n for n in fails if n not in deliberate)
    all_failed = {n for v in failed.values() for n in v}
    fixed = sorted(n for n in deliberate if n not in all_failed)
    print(f"{'all':10} {total_passed:5}/{total_ran:<5} passed ({100 * total_passed / max(total_ran, 1):.1f}%)")
    if unexpected:
        print(f"\n{len(unexpected)} failures not in deliberate.txt:")
        for n in unexpected:
            print("  " + n)
    if fixed:
        print(f"\n{len(fixed)} tests in deliberate.txt did not fail (ran and passed, or did not run):")
        for n in fixed:
            print("  " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
