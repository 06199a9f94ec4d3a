//! The helpers for rule authors (docs/rules.md, "Helpers: networks, ports, tags and policies"),
//! exercised by the rules in tests/fixtures/policies-helpers over the hand-made snapshot
//! tests/fixtures/helpers-snapshot: every helper, malformed CIDRs and permissions, IPv6,
//! `-1` protocols and ports, absent ports, and tags in each shape, with the place each
//! finding points at.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{findings_of, snapaudit};

/// (message, file, JSON pointer) of every finding of `id`, sorted; `-` for no location.
fn reported(run: &serde_json::Value, id: &str) -> Vec<(String, String, String)> {
    let mut got: Vec<(String, String, String)> = findings_of(run, id)
        .into_iter()
        .map(|f| {
            let loc = &f["location"];
            (
                f["message"].as_str().unwrap().to_owned(),
                loc["file"].as_str().unwrap_or("-").to_owned(),
                loc["pointer"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    got.sort();
    got
}

fn expect(run: &serde_json::Value, id: &str, want: &[(&str, &str, &str)]) {
    let mut want: Vec<(String, String, String)> = want
        .iter()
        .map(|(m, f, p)| ((*m).to_owned(), (*f).to_owned(), (*p).to_owned()))
        .collect();
    want.sort();
    let got = reported(run, id);
    if got != want {
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        panic!("{id}:\nmissing {missing:#?}\nunexpected {extra:#?}");
    }
}

fn run() -> serde_json::Value {
    let out = snapaudit(&[
        "check",
        "tests/fixtures/helpers-snapshot",
        "--policies",
        "tests/fixtures/policies-helpers",
        "--no-default-pack",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let run = out.json();
    for rule in run["rules"].as_array().unwrap() {
        assert_eq!(
            rule["result"], "fail",
            "malformed values are answers, not errors: {rule}"
        );
    }
    run
}

const SG: &str = "ec2/us-east-1/describe-security-groups.json";

#[test]
fn networks_addresses_and_cidrs() {
    let run = run();
    expect(
        &run,
        "test.helpers.networks",
        &[
            ("address 2001:db8::1 version=6 in=true public=false ipv4in6=false", "-", "-"),
            ("allowlist true false", "-", "-"),
            ("malformed cidr=true ip=true number=true unit=false", "-", "-"),
            ("parsed 10.1.2.3/8 prefix=8 version=4 address=10.1.2.3 network=10.0.0.0/8 same=true", "-", "-"),
            ("0.0.0.0/0 cidr=true world=true public=true private=false in10=false overlaps10=true", SG, "/SecurityGroups/0/IpPermissions/0/IpRanges/0/CidrIp"),
            ("::/0 cidr=true world=true public=true private=false in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/0/Ipv6Ranges/0/CidrIpv6"),
            ("10.20.0.0/16 cidr=true world=false public=false private=true in10=true overlaps10=true", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/0/CidrIp"),
            ("203.0.113.7/32 cidr=true world=false public=false private=true in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/1/CidrIp"),
            ("10.0.0.0/33 cidr=false world=false public=false private=false in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/2/CidrIp"),
            ("10.0.0/8 cidr=false world=false public=false private=false in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/3/CidrIp"),
            ("100.64.1.0/24 cidr=true world=false public=false private=true in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/4/CidrIp"),
            ("8.8.8.8/32 cidr=true world=false public=true private=false in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/IpRanges/5/CidrIp"),
            ("fd12:3456::/48 cidr=true world=false public=false private=true in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/Ipv6Ranges/0/CidrIpv6"),
            ("2600:1f18::/36 cidr=true world=false public=true private=false in10=false overlaps10=false", SG, "/SecurityGroups/0/IpPermissions/1/Ipv6Ranges/1/CidrIpv6"),
            ("10.0.0.0/8 cidr=true world=false public=false private=true in10=true overlaps10=true", SG, "/SecurityGroups/1/IpPermissions/0/IpRanges/0/CidrIp"),
        ],
    );
}

#[test]
fn ports_and_permissions() {
    let run = run();
    expect(
        &run,
        "test.helpers.ports",
        &[
            ("ranges true false true true true false false", "-", "-"),
            ("web: tcp 443-443 all=false text=tcp/443 | 22=false tcp/443=true udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/0/IpPermissions/0"),
            ("web: tcp 20-25 all=false text=tcp/20-25 | 22=true tcp/443=false udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/0/IpPermissions/1"),
            ("all: all 0-65535 all=true text=all traffic | 22=true tcp/443=true udp/53=true icmp/8=true esp=true", SG, "/SecurityGroups/1/IpPermissions/0"),
            ("all: udp 53-53 all=false text=udp/53 | 22=false tcp/443=false udp/53=true icmp/8=false esp=false", SG, "/SecurityGroups/1/IpPermissions/1"),
            ("all: icmp -1--1 all=true text=icmp/all | 22=false tcp/443=false udp/53=false icmp/8=true esp=false", SG, "/SecurityGroups/1/IpPermissions/2"),
            ("all: icmp 8-0 all=false text=icmp type 8 code 0 | 22=false tcp/443=false udp/53=false icmp/8=true esp=false", SG, "/SecurityGroups/1/IpPermissions/3"),
            ("all: tcp 0-65535 all=true text=tcp/0-65535 | 22=true tcp/443=true udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/1/IpPermissions/4"),
            ("all: 50 0-65535 all=true text=protocol 50 | 22=false tcp/443=false udp/53=false icmp/8=false esp=true", SG, "/SecurityGroups/1/IpPermissions/5"),
            ("all: icmpv6 -1--1 all=true text=icmpv6/all | 22=false tcp/443=false udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/1/IpPermissions/6"),
            ("all: malformed | 22=false tcp/443=false udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/1/IpPermissions/7"),
            ("all: malformed | 22=false tcp/443=false udp/53=false icmp/8=false esp=false", SG, "/SecurityGroups/1/IpPermissions/8"),
        ],
    );
}

#[test]
fn tags_in_each_shape_point_at_their_value() {
    let run = run();
    expect(
        &run,
        "test.helpers.tags",
        &[
            ("ec2 untagged: tags=#{} env= exact= has=false none=true", "-", "-"),
            ("not a resource: #{} #{}", "-", "-"),
            ("cloudfront Items: tags=#{\"Environment\": \"prod\"} env=prod exact= has=true none=true", "cloudfront/list-tags-for-resource/dist.json", "/Tags/Items/0/Value"),
            ("cloudtrail TagsList: tags=#{\"Environment\": \"prod\"} env=prod exact= has=true none=true", "cloudtrail/us-east-1/list-tags.json", "/ResourceTagList/0/TagsList/0/Value"),
            ("ec2 Tags: tags=#{\"Environment\": \"prod\", \"Name\": \"web\"} env=prod exact= has=true none=true", SG, "/SecurityGroups/0/Tags/1/Value"),
            ("ec2 list itself: tags=#{\"Environment\": \"prod\", \"Name\": \"web\"} env=prod exact= has=true none=true", SG, "/SecurityGroups/0/Tags/1/Value"),
            ("map value prod", SG, "/SecurityGroups/0/Tags/1/Value"),
            ("ec2 lower-case key: tags=#{\"environment\": \"staging\"} env=staging exact=staging has=true none=true", SG, "/SecurityGroups/1/Tags/0/Value"),
            ("ecs tags: tags=#{\"environment\": \"prod\"} env=prod exact=prod has=true none=true", "ecs/us-east-1/list-tags-for-resource/cluster.json", "/tags/0/value"),
            ("eks map: tags=#{\"environment\": \"prod\"} env=prod exact=prod has=true none=true", "eks/us-east-1/describe-cluster/main.json", "/cluster/tags/environment"),
            ("kms TagKey: tags=#{\"Environment\": \"prod\"} env=prod exact= has=true none=true", "kms/us-east-1/list-resource-tags/key1.json", "/Tags/0/TagValue"),
            ("lambda map: tags=#{\"Environment\": \"prod\", \"team\": \"payments\"} env=prod exact= has=true none=true", "lambda/us-east-1/list-tags/fn.json", "/Tags/Environment"),
            ("rds TagList: tags=#{\"ENVIRONMENT\": \"prod\"} env=prod exact= has=true none=true", "rds/us-east-1/describe-db-instances.json", "/DBInstances/0/TagList/0/Value"),
            ("s3 TagSet: tags=#{\"Environment\": \"dev\", \"environment\": \"test\"} env=test exact=test has=true none=true", "s3/get-bucket-tagging/logs.json", "/TagSet/1/Value"),
        ],
    );
}
