//! Keeps `loadgen` from rotting: a few seconds against one room of Haven's
//! media plane in process. Figures are not asserted (they are measured in
//! docs/performance.md), only that the run works and media flows.

#[test]
fn loadgen_runs_one_room_for_a_few_seconds() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--rooms",
            "1",
            "--size",
            "3",
            "--seconds",
            "2",
            "--warmup",
            "1",
            "in-process",
        ])
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loadgen failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON summary");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["connected"], 3, "{v}");
    assert!(v["received_pps"].as_f64().unwrap() > 100.0, "{v}");
    assert!(v["loss"].as_f64().unwrap() < 0.05, "{v}");
    assert!(v["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{v}");
}
