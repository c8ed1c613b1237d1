//! Source attribution, claims and campaign linking end to end on simulated captures: the
//! simulator draws bots from the shared IPinfo sample database (`../shared/data/geo`,
//! override with `FLOODTRACE_SHARED_DATA`), its truth.json says what an ideal analyser
//! concludes, and the engine's verdicts are compared with it.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;

use common::shared_data;
use floodtrace_engine::attribute::{attribute, AttributeInput, GeoLookup, SpoofVerdict};
use floodtrace_engine::campaign::{link_campaigns, CampaignConfig, CampaignMember};
use floodtrace_engine::claim::{evaluate, Claim, ClaimEvidence, Outcome};
use floodtrace_engine::sketch::SourceSample;
use floodtrace_sim::generate::{simulate, SimOptions};
use floodtrace_sim::geo::GeoDb;
use floodtrace_sim::scenario::Scenario;
use floodtrace_sim::truth::Truth;
use floodtrace_wire::capture::RecordReader;
use floodtrace_wire::{observe_frame, Frame, Observation};

fn geo_file() -> PathBuf {
    shared_data("geo/ipinfo_ip_country_asn_sample.mmdb")
}

/// The simulator's database as a `GeoLookup` (country only; the sim returns owned names).
struct SimGeo(GeoDb);

impl GeoLookup for SimGeo {
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        let c = self.0.country_of_ip(ip)?;
        let b = c.as_bytes();
        Some([b[0], b[1]])
    }
    fn asn(&self, _: IpAddr) -> Option<(u32, &str)> {
        None
    }
}

/// Simulate a built-in scenario into a scratch folder and decode its capture.
fn run(name: &str, geo: &GeoDb) -> (Truth, Vec<Observation>) {
    let text = floodtrace_sim::builtin::find(name).expect("built-in scenario");
    let sc = Scenario::from_toml(text).unwrap();
    let out = std::env::temp_dir().join(format!("floodtrace-attr-{name}-{}", std::process::id()));
    let summary = simulate(
        &sc,
        &SimOptions {
            seed: sc.seed,
            geo,
            out_dir: &out,
            progress: &|_, _| {},
        },
    )
    .unwrap();
    let bytes = std::fs::read(out.join("capture.pcap")).unwrap();
    let mut reader = RecordReader::open(&bytes).unwrap();
    let mut obs = Vec::new();
    while let Some(rec) = reader.next() {
        let rec = rec.unwrap();
        if let Ok(Frame::Ip(o)) = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len) {
            obs.push(o);
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    (summary.truth, obs)
}

/// One sample per truth wave: packets to its victim during the wave, without the sources
/// that also talk to the victims outside every wave (the background clients an analyser
/// would know from the baseline).
fn wave_samples(truth: &Truth, obs: &[Observation]) -> Vec<SourceSample> {
    let victims: Vec<IpAddr> = truth
        .waves
        .iter()
        .filter_map(|w| w.victim.parse().ok())
        .collect();
    let baseline: std::collections::HashSet<IpAddr> = obs
        .iter()
        .filter(|o| victims.contains(&o.dst))
        .filter(|o| {
            !truth
                .waves
                .iter()
                .any(|w| o.ts_ns >= w.start_ns && o.ts_ns <= w.end_ns)
        })
        .map(|o| o.src)
        .collect();
    truth
        .waves
        .iter()
        .map(|w| {
            let victim: IpAddr = w.victim.parse().expect("single-address victims");
            let mut s = SourceSample::new();
            for o in obs
                .iter()
                .filter(|o| o.dst == victim && o.ts_ns >= w.start_ns && o.ts_ns <= w.end_ns)
                .filter(|o| !baseline.contains(&o.src))
            {
                s.observe(o);
            }
            s
        })
        .collect()
}

fn truth_verdict(truth: &Truth, claim: &str) -> String {
    truth
        .claims
        .iter()
        .find(|c| c.claim == claim)
        .map(|c| c.verdict.clone())
        .unwrap()
}

#[test]
fn spoofed_floods_are_recognised_and_locate_nothing() {
    let geo = SimGeo(GeoDb::open(&geo_file()).unwrap());
    let (truth, obs) = run("spoofed-syn", &geo.0);
    let samples = wave_samples(&truth, &obs);
    let mut all = SourceSample::new();
    for (w, s) in truth.waves.iter().zip(&samples) {
        let p = attribute(s, &AttributeInput::default(), &geo);
        assert!(w.spoofed);
        assert_eq!(
            p.spoofing.verdict,
            SpoofVerdict::Spoofed,
            "{}: {:#?}",
            w.name,
            p.spoofing.reasons
        );
        all.merge(s);
    }
    // The uniform wave shows bogons; the /8-restricted one only TTL clustering.
    let p0 = attribute(&samples[0], &AttributeInput::default(), &geo);
    assert!(
        p0.spoofing.bogons.spoofed_fraction > 0.8,
        "{:?}",
        p0.spoofing.bogons
    );
    let p1 = attribute(&samples[1], &AttributeInput::default(), &geo);
    assert_eq!(p1.spoofing.bogons.bogon_sources, 0);
    assert!(p1.spoofing.ttl.top3_share >= 0.9, "{:?}", p1.spoofing.ttl);

    let profile = attribute(&all, &AttributeInput::default(), &geo);
    for claim in ["spoofed=yes", "origin=UA", "origin=US"] {
        let v = evaluate(
            &Claim::parse(claim).unwrap(),
            &ClaimEvidence {
                profile: Some(&profile),
                ..Default::default()
            },
        );
        assert_eq!(
            v.verdict.name(),
            truth_verdict(&truth, claim),
            "{claim}: {}",
            v.explanation
        );
    }
}

#[test]
fn one_botnet_is_real_located_and_one_campaign() {
    let geo = SimGeo(GeoDb::open(&geo_file()).unwrap());
    let (truth, obs) = run("mirai-mix", &geo.0);
    let samples = wave_samples(&truth, &obs);
    let mut all = SourceSample::new();
    let mut members = Vec::new();
    for (w, s) in truth.waves.iter().zip(&samples) {
        let p = attribute(s, &AttributeInput::default(), &geo);
        assert_eq!(
            p.spoofing.verdict,
            SpoofVerdict::NotSpoofed,
            "{}: {:#?}",
            w.name,
            p.spoofing
        );
        let want = w.sources_by_country.get("BR").copied().unwrap_or(0) as f64
            / w.distinct_sources.max(1) as f64;
        let got = p.country_share("BR").0;
        assert!(
            (got - want).abs() < 0.03,
            "{}: BR {got} vs truth {want}",
            w.name
        );
        all.merge(s);
        members.push(CampaignMember {
            label: w.name.clone(),
            victim: w.victim.clone(),
            start_ns: w.start_ns,
            end_ns: w.end_ns,
            sources: s,
            spoofing: p.spoofing.verdict,
            vectors: vec![(w.vector.clone(), 1.0)],
            fingerprints: Vec::new(),
        });
    }
    // A second, unrelated botnet of 3000 bots in the US (the sample database's BR space is
    // only ~1,000 addresses, so a second BR botnet would reuse mirai-a's bots).
    let mut other = SourceSample::new();
    let mut rng = floodtrace_sim::rng::Rng::named(99, "other-botnet");
    let victim: IpAddr = "198.51.100.10".parse().unwrap();
    for _ in 0..3000 {
        let a = geo.0.sample("US", &mut rng).unwrap();
        for _ in 0..3 {
            let mut o = Observation::new(0, IpAddr::V4(a), victim);
            o.proto = 17;
            o.ttl = 50;
            other.observe(&o);
        }
    }
    members.push(CampaignMember {
        label: "other-botnet".into(),
        victim: victim.to_string(),
        start_ns: u64::MAX - 1,
        end_ns: u64::MAX,
        sources: &other,
        spoofing: SpoofVerdict::NotSpoofed,
        vectors: vec![("udp_flood".into(), 1.0)],
        fingerprints: Vec::new(),
    });
    let links = link_campaigns(&members, &CampaignConfig::default());
    let n = truth.waves.len();
    assert!(
        links.member_campaign[..n].iter().all(|&c| c == 1),
        "{:?}",
        links.member_campaign
    );
    assert_eq!(links.member_campaign[n], 2);
    assert_eq!(links.campaigns.len(), 2);

    let profile = attribute(&all, &AttributeInput::default(), &geo);
    for claim in ["spoofed=no", "origin=BR"] {
        let v = evaluate(
            &Claim::parse(claim).unwrap(),
            &ClaimEvidence {
                profile: Some(&profile),
                ..Default::default()
            },
        );
        assert_eq!(
            v.verdict.name(),
            truth_verdict(&truth, claim),
            "{claim}: {}",
            v.explanation
        );
    }
    let v = evaluate(
        &Claim::parse("origin=UA").unwrap(),
        &ClaimEvidence {
            profile: Some(&profile),
            ..Default::default()
        },
    );
    assert_eq!(v.verdict, Outcome::Contradicted, "{}", v.explanation);
}
