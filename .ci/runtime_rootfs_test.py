"""runtime_rootfs on a made-up dpkg database: what stays, what goes, what dpkg's status still lists.

python3 .ci/runtime_rootfs_test.py
"""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runtime_rootfs

# Each package: (Depends, Provides, owned files). python needs libc and, of "libssl-old | libssl",
# libssl-old is not installed any more and the virtual libssl is libssl3's; libstdc++ needs the real
# libgcc-s1, which gcc-alt provides too; libc's maintainer scripts need dash (a script tool, never
# kept); ca-certificates is data whose openssl dependency only its scripts use, but openssl's
# links to the CA bundle are what OpenSSL reads.
PACKAGES = {
    "python3.11-minimal": ("libc6, libssl-old (>= 1) | libssl", "", ["/usr/bin/python3.11"]),
    "libpython3.11-stdlib": ("libc6:any", "", ["/usr/lib/python3.11/os.py"]),
    "libstdc++6": ("libc6, libgcc-s1", "", ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6"]),
    "libgcc-s1": ("", "", ["/lib/x86_64-linux-gnu/libgcc_s.so.1"]),
    "gcc-alt": ("", "libgcc-s1", ["/usr/lib/x86_64-linux-gnu/libgcc_alt.so"]),
    "libssl-old": ("", "libssl", []),
    "base-files": ("mawk", "", ["/etc/os-release"]),
    "libc6": (
        "dash",
        "",
        ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"],
    ),
    "libssl3": ("libc6", "libssl", ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]),
    "ca-certificates": ("openssl, debconf", "", ["/usr/share/ca-certificates/root.crt"]),
    "openssl": ("libssl3", "", ["/usr/bin/openssl", "/usr/lib/ssl/cert.pem", "/usr/lib/ssl/misc/CA.pl"]),
    "dash": ("", "", ["/bin/sh", "/usr/bin/dash"]),
    "mawk": ("", "", ["/usr/bin/mawk"]),
    "coreutils": ("", "", ["/bin/cat", "/bin/ls"]),
    "apt": ("libc6", "", ["/usr/bin/apt"]),
}


def make_rootfs(root: Path) -> None:
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")  # merged /usr, as in bookworm
    (root / "lib").symlink_to("usr/lib")
    stanzas = []
    for name, (depends, provides, files) in PACKAGES.items():
        state = "not-installed" if name == "libssl-old" else "installed"
        stanzas.append(
            f"Package: {name}\nStatus: install ok {state}\nDepends: {depends}\nProvides: {provides}\n"
            "Description: a package\n more description"
        )
        (info / f"{name}:amd64.list" if name.startswith("lib") else info / f"{name}.list").write_text(
            "/.\n" + "\n".join(files) + "\n"
        )
        for path in files:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(name)
    (root / "var/lib/dpkg/status").write_text("\n\n".join(stanzas) + "\n")
    (root / "usr/bin/awk").symlink_to("/etc/alternatives/awk")  # an alternative of a removed package
    (root / "etc/alternatives").mkdir(parents=True)
    (root / "etc/alternatives/awk").symlink_to("/usr/bin/mawk")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")  # owned by no package


class PruneTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        make_rootfs(self.root)
        self.kept, self.freed = runtime_rootfs.prune(self.root)

    def exists(self, path: str) -> bool:
        return (self.root / path).exists() or (self.root / path).is_symlink()

    def test_keeps_python_and_the_closure_of_what_it_loads(self) -> None:
        self.assertEqual(
            set(self.kept),
            {
                "python3.11-minimal",
                "libpython3.11-stdlib",
                "libstdc++6",
                "libgcc-s1",
                "base-files",
                "libc6",
                "libssl3",
                "ca-certificates",
            },
        )
        for path in (
            "usr/bin/python3.11",
            "usr/lib/x86_64-linux-gnu/libssl.so.3",
            "usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
            "etc/os-release",
            "usr/share/ca-certificates/root.crt",
            "etc/passwd",
        ):
            self.assertTrue(self.exists(path), path)

    def test_removes_shells_package_managers_and_script_tools(self) -> None:
        removed = ("bin/sh", "usr/bin/dash", "usr/bin/apt", "usr/bin/openssl", "usr/bin/mawk", "bin/ls")
        for path in (*removed, "usr/lib/x86_64-linux-gnu/libgcc_alt.so"):
            self.assertFalse(self.exists(path), path)
        self.assertGreater(self.freed, 0)

    def test_keeps_the_files_of_removed_packages_that_kept_ones_use(self) -> None:
        self.assertTrue(self.exists("usr/bin/cat"))  # listed as /bin/cat
        self.assertTrue(self.exists("usr/lib/ssl/cert.pem"))
        self.assertFalse(self.exists("usr/lib/ssl/misc/CA.pl"))

    def test_removes_unused_parts_of_kept_packages_and_dangling_alternatives(self) -> None:
        self.assertFalse(self.exists("usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"))
        self.assertFalse(self.exists("usr/bin/awk"))
        self.assertFalse(self.exists("etc/alternatives/awk"))
        self.assertFalse(self.exists("var/lib/dpkg/info"))

    def test_status_lists_only_the_packages_kept(self) -> None:
        status = (self.root / "var/lib/dpkg/status").read_text()
        listed = {stanza["Package"] for stanza in runtime_rootfs.stanzas(status)}
        self.assertEqual(listed, set(self.kept))
        self.assertIn(" more description", status)

    def test_tmp_is_world_writable_and_sticky(self) -> None:
        self.assertEqual((self.root / "tmp").stat().st_mode & 0o7777, 0o1777)


class MissingRootTest(unittest.TestCase):
    def test_a_root_filesystem_without_python_is_refused(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        root = Path(scratch.name)
        (root / "var/lib/dpkg/info").mkdir(parents=True)
        (root / "var/lib/dpkg/status").write_text("Package: dash\nStatus: install ok installed\n")
        with self.assertRaises(SystemExit) as raised:
            runtime_rootfs.prune(root)
        self.assertIn("python3.11-minimal", str(raised.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
