//! Acceptance: `cat FILE | floodtrace analyze --format json -` gives the same report as
//! the file path (apart from `inputs[].path`), for pcap and pcapng, with small chunks too.

use serde_json::Value;

use crate::support::{analyze_json, data_file, read_data, run_with_stdin, u64_at, without_paths};

fn from_stdin(extra: &[&str], bytes: &[u8]) -> (Option<i32>, Value) {
    let mut args = vec!["analyze", "--format", "json", "--no-progress"];
    args.extend_from_slice(extra);
    args.push("-");
    let r = run_with_stdin(&args, Some(bytes));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let doc = r.json();
    (r.code, doc)
}

fn same_as_file(rel: &str, extra: &[&str]) {
    let path = data_file(rel);
    let file = analyze_json(extra, &[&path]);
    file.expect_code(0);
    let file = file.json();
    let (code, piped) = from_stdin(extra, &read_data(rel));
    assert_eq!(code, Some(0), "{rel} {extra:?} from stdin");
    assert_eq!(piped["inputs"][0]["path"], "-");
    assert!(u64_at(&piped["inputs"][0], "packets") > 0, "{rel}: packets");
    assert_eq!(
        without_paths(piped),
        without_paths(file),
        "{rel} {extra:?}: stdin and file reports differ"
    );
}

#[test]
fn pcap_from_stdin_matches_file() {
    // 2.9 MB: more than one 1 MiB stream block.
    same_as_file("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap", &[]);
    same_as_file(
        "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap",
        &["--chunk-bytes", "65536", "--threads", "3"],
    );
    same_as_file(
        "pcap/ddos/stopddos_amp.UDP.bacnet.IOT.37810.pcapng",
        &["--chunk-bytes", "4096", "--threads", "1"],
    );
}

#[test]
fn pcapng_from_stdin_matches_file() {
    same_as_file("pcap/misc/ndpi_snmp.pcap", &[]);
    same_as_file(
        "pcap/misc/ndpi_snmp.pcap",
        &["--chunk-bytes", "4096", "--threads", "2"],
    );
    same_as_file("pcap/misc/ndpi_gre.pcapng", &["--chunk-bytes", "4096"]);
}

/// A capture cut mid-record reads the same from a pipe as from a file: same counts, same
/// error at the same offset.
#[test]
fn truncated_stream_matches_truncated_file() {
    let rel = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";
    let bytes = read_data(rel);
    let tmp = crate::support::TempDir::new("stdin-cut");
    for (cut, extra) in [
        (1_500_001usize, &[][..]),
        (2_000_003, &["--chunk-bytes", "65536", "--threads", "2"][..]),
    ] {
        let path = tmp.write("cut.pcap", &bytes[..cut]);
        let file = analyze_json(extra, &[&path]);
        file.expect_code(3);
        let (code, piped) = from_stdin(extra, &bytes[..cut]);
        assert_eq!(code, Some(3), "cut at {cut} from stdin");
        assert_eq!(
            without_paths(piped),
            without_paths(file.json()),
            "cut at {cut} {extra:?}: stdin and file reports differ"
        );
    }
}

/// The spool of standard input (kept so that attribution and evidence can read it again)
/// goes to an anonymous file in `$TMPDIR`: these tests point `TMPDIR` at a directory of
/// their own.
mod spool {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use crate::support::{analyze_json, data_file, read_data, run_command, u64_at, Run, BIN};

    const CAPTURE: &str = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";

    fn analyze_stdin(tmpdir: &Path, bytes: &[u8]) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(["analyze", "--format", "json", "--no-progress", "-"])
            .env("TMPDIR", tmpdir);
        run_command(cmd, Some(bytes))
    }

    /// Names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The report from standard input covers what the file's does, and says the input was
    /// read completely: a spool that failed is no damage to the input.
    fn same_counts_as_the_file(r: &Run) {
        r.expect_code(0);
        let piped = r.json();
        let file = analyze_json(&[], &[data_file(CAPTURE)]);
        file.expect_code(0);
        let file = file.json();
        for k in ["packets", "bytes", "ip_packets"] {
            assert_eq!(
                u64_at(&piped["inputs"][0], k),
                u64_at(&file["inputs"][0], k),
                "{k}"
            );
        }
        assert_eq!(piped["inputs"][0]["complete"], true);
        assert_eq!(piped["inputs"][0]["errors"], file["inputs"][0]["errors"]);
        assert_eq!(piped["destinations"], file["destinations"]);
    }

    /// With the spool, standard input is read a second time like a file: attribution's
    /// second pass (forced by `--no-source-log`) and `--evidence` give what they give for
    /// the file, and the run leaves nothing in `TMPDIR`.
    #[test]
    fn spool_serves_the_second_pass_and_evidence() {
        let tmp = crate::support::TempDir::new("spool-reread");
        let dir = tmp.path().join("tmp");
        std::fs::create_dir(&dir).expect("mkdir");
        let (from_file, from_stdin) = (tmp.path().join("ev-file"), tmp.path().join("ev-stdin"));
        let args = |ev: &Path| {
            let ev = ev.display().to_string();
            [
                "--no-source-log",
                "--evidence",
                &ev,
                "--evidence-packets",
                "20",
            ]
            .map(String::from)
        };
        let file_args = args(&from_file);
        let file_args: Vec<&str> = file_args.iter().map(String::as_str).collect();
        let file = analyze_json(&file_args, &[data_file(CAPTURE)]);
        file.expect_code(0);
        let mut cmd = Command::new(BIN);
        cmd.args(["analyze", "--format", "json", "--no-progress"])
            .args(args(&from_stdin))
            .arg("-")
            .env("TMPDIR", &dir);
        let piped = run_command(cmd, Some(&read_data(CAPTURE)));
        piped.expect_code(0);
        let (file, piped_doc) = (file.json(), piped.json());
        let collected = &piped_doc["incidents"][0]["source_profile"]["sample"]["collected"];
        assert_eq!(collected, "second_pass", "{}", piped.stderr);
        assert_eq!(
            crate::support::without_paths(piped_doc),
            crate::support::without_paths(file)
        );
        let written = listing(&from_file);
        assert!(!written.is_empty());
        assert_eq!(listing(&from_stdin), written);
        for name in &written {
            let a = std::fs::read(from_file.join(name)).expect("evidence");
            let b = std::fs::read(from_stdin.join(name)).expect("evidence");
            assert!(a == b, "{name} differs");
        }
        assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    }

    /// `TMPDIR` names a directory that does not exist: the spool cannot be created. One
    /// warning names the spool and what is lost; the input is analysed all the same.
    #[test]
    fn missing_temporary_directory_only_costs_the_spool() {
        let tmp = crate::support::TempDir::new("spool-missing");
        let missing = tmp.path().join("no-such-dir");
        let r = analyze_stdin(&missing, &read_data(CAPTURE));
        same_counts_as_the_file(&r);
        let warning = format!(
            "floodtrace: spool of standard input in {}: cannot create a temporary file: ",
            missing.display()
        );
        assert_eq!(r.stderr.matches(&warning).count(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("standard input cannot be read a second time"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("floodtrace: -: "), "{}", r.stderr);
        assert!(!r.stderr.contains("input.unreadable"), "{}", r.stderr);
    }

    /// A file size limit (`ulimit -f`, with SIGXFSZ ignored as a shell script may leave
    /// it) makes writing the spool fail part way: the input is still read to its end.
    #[test]
    fn spool_write_failure_only_costs_the_spool() {
        let tmp = crate::support::TempDir::new("spool-fsize");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("trap '' XFSZ; ulimit -f 20; exec \"$0\" analyze --format json --no-progress -")
            .arg(BIN)
            .env("TMPDIR", tmp.path());
        let r = run_command(cmd, Some(&read_data(CAPTURE)));
        same_counts_as_the_file(&r);
        let warning = format!(
            "floodtrace: spool of standard input in {}: cannot write: ",
            tmp.path().display()
        );
        assert_eq!(r.stderr.matches(&warning).count(), 1, "{}", r.stderr);
        assert!(!r.stderr.contains("read error"), "{}", r.stderr);
    }

    /// The spool has no name: a symlink planted where the old predictable name
    /// (`floodtrace-stdin-<pid>.cap`) is, by a shell that then becomes floodtrace with the
    /// same process id, is not followed, and the run leaves nothing in the directory.
    #[test]
    fn spool_has_no_name_to_follow_or_leave_behind() {
        let tmp = crate::support::TempDir::new("spool-name");
        let victim = tmp.write("victim.txt", b"important\n");
        let dir = tmp.path().join("tmp");
        std::fs::create_dir(&dir).expect("mkdir");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(
                "ln -s \"$1\" \"$TMPDIR/floodtrace-stdin-$$.cap\" && \
                 exec \"$0\" analyze --format json --no-progress -",
            )
            .arg(BIN)
            .arg(&victim)
            .env("TMPDIR", &dir);
        let r = run_command(cmd, Some(&read_data(CAPTURE)));
        same_counts_as_the_file(&r);
        assert!(
            !r.stderr.contains("spool of standard input"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(&victim).expect("victim"), b"important\n");
        let left = listing(&dir);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(
            left[0].starts_with("floodtrace-stdin-") && dir.join(&left[0]).is_symlink(),
            "{left:?}"
        );
    }

    /// Killed while reading (SIGKILL: no handler, no destructor runs), the process leaves
    /// no spool behind, although it held one open.
    #[test]
    fn spool_is_not_left_behind_by_a_killed_run() {
        use std::io::Write;
        let tmp = crate::support::TempDir::new("spool-kill");
        let bytes = read_data(CAPTURE);
        let mut child = Command::new(BIN)
            .args(["analyze", "--format", "json", "--no-progress", "-"])
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&bytes[..bytes.len() / 2]).expect("write");
        // Wait until the process holds a file in the directory open.
        let fds = format!("/proc/{}/fd", child.id());
        let holds_spool = || {
            std::fs::read_dir(&fds)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.starts_with(tmp.path())))
        };
        let start = std::time::Instant::now();
        while !holds_spool() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "no spool open in {}",
                tmp.path().display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(listing(tmp.path()).is_empty(), "the open spool has a name");
        child.kill().expect("kill");
        child.wait().expect("wait");
        drop(stdin);
        assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
    }
}
