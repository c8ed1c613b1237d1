//! The configuration file (`--config FILE`, TOML): detector settings and protected
//! networks with static thresholds. Everything is optional; without a file the defaults
//! apply and baselines are learned from the traffic.
//!
//! ```toml
//! [detect]
//! min_pps = 50            # any field of DetectConfig (docs/USAGE.md)
//! end_seconds = 5
//!
//! [[network]]
//! name = "web"
//! prefixes = ["198.51.100.0/24", "2001:db8:80::/48"]
//! pps = 20000             # per destination address: packets per second
//! bps = 1e9               # bits per second
//! flows = 5000            # distinct sources per second
//! classes = { tcp_syn = 2000, udp = 10000 }
//! ```

use std::path::Path;

use anyhow::Context;
use floodtrace_engine::detect::{DetectConfig, NetworkTable, ProtectedNetwork};
use serde::Deserialize;

/// The file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    detect: DetectConfig,
    #[serde(default)]
    network: Vec<ProtectedNetwork>,
}

/// Loaded configuration.
#[derive(Debug, Default)]
pub struct Config {
    /// Detector settings.
    pub detect: DetectConfig,
    /// Protected networks.
    pub networks: NetworkTable,
}

impl Config {
    /// Read and check `path`; errors name the file, the line and what is wrong.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("config {}", path.display()))
    }

    /// Parse a configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        check(&file.detect)?;
        let networks = NetworkTable::new(file.network).map_err(anyhow::Error::msg)?;
        Ok(Config {
            detect: file.detect,
            networks,
        })
    }
}

/// Values the detector cannot work with.
fn check(d: &DetectConfig) -> anyhow::Result<()> {
    let positive = [
        ("min_pps", d.min_pps),
        ("rate_factor", d.rate_factor),
        ("warmup_factor", d.warmup_factor),
        ("min_requests", d.min_requests),
    ];
    for (name, v) in positive {
        anyhow::ensure!(
            v.is_finite() && v > 0.0,
            "detect.{name} must be > 0, not {v}"
        );
    }
    anyhow::ensure!(
        d.deviations.is_finite() && d.deviations >= 0.0,
        "detect.deviations must be ≥ 0"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&d.min_shift),
        "detect.min_shift is a share: 0 to 1"
    );
    anyhow::ensure!(
        d.baseline_alpha > 0.0 && d.baseline_alpha <= 1.0,
        "detect.baseline_alpha must be in (0, 1]"
    );
    anyhow::ensure!(d.start_seconds >= 1, "detect.start_seconds must be ≥ 1");
    anyhow::ensure!(d.end_seconds >= 1, "detect.end_seconds must be ≥ 1");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let c = Config::parse(
            r#"
[detect]
min_pps = 50
end_seconds = 5

[[network]]
name = "web"
prefixes = ["198.51.100.0/24", "2001:db8:80::/48"]
pps = 20000
bps = 1e9
flows = 5000
classes = { tcp_syn = 2000, udp = 10000 }

[[network]]
name = "one host"
prefixes = ["198.51.100.10"]
pps = 100
"#,
        )
        .unwrap();
        assert_eq!(c.detect.min_pps, 50.0);
        assert_eq!(c.detect.end_seconds, 5);
        assert_eq!(c.detect.rate_factor, DetectConfig::default().rate_factor);
        let host = c.networks.lookup("198.51.100.10".parse().unwrap()).unwrap();
        assert_eq!(host.name, "one host", "longest prefix wins");
        let net = c.networks.lookup("198.51.100.11".parse().unwrap()).unwrap();
        assert_eq!(net.thresholds.classes["tcp_syn"], 2000.0);
        assert!(c
            .networks
            .lookup("2001:db8:80::1".parse().unwrap())
            .is_some());
        assert!(c.networks.lookup("192.0.2.1".parse().unwrap()).is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let e = |t: &str| format!("{:#}", Config::parse(t).unwrap_err());
        assert!(e("[detect]\nmin_ppps = 3\n").contains("min_ppps"));
        assert!(e("[detect]\nmin_pps = -1\n").contains("min_pps"));
        assert!(
            e("[[network]]\nname = \"x\"\nprefixes = [\"10.0.0.0/33\"]\n").contains("10.0.0.0/33")
        );
        assert!(e(
            "[[network]]\nname = \"x\"\nprefixes = [\"10.0.0.0/8\"]\nclasses = { syn = 1 }\n"
        )
        .contains("syn"));
    }
}
