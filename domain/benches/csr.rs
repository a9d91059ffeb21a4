//! Read and verify one certificate request, as the connector's verify call
//! does: `cargo bench -p scepter-domain --bench csr`. RSA 2048 is what SCEP
//! clients send most; its signature check is the request's main cost (ring's
//! fast path, see `verify_rsa`), RSA 1024 with SHA-1 takes the `rsa` crate's
//! path, and P-256 is shown beside them.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scepter_domain::csr::CertificateRequest;

const RSA_2048_SHA256: &str = include_str!("../tests/fixtures/csr/rsa2048_sha256.pem");
const RSA_1024_SHA1: &str = include_str!("../tests/fixtures/csr/rsa1024_sha1.pem");
const P256_SHA256: &str = include_str!("../tests/fixtures/csr/p256_sha256.pem");

fn bench_parse(c: &mut Criterion) {
    for (name, pem) in [
        ("csr/rsa2048-sha256", RSA_2048_SHA256),
        ("csr/rsa1024-sha1", RSA_1024_SHA1),
        ("csr/p256-sha256", P256_SHA256),
    ] {
        CertificateRequest::parse(pem).expect("the fixture verifies");
        c.bench_function(name, |b| b.iter(|| CertificateRequest::parse(black_box(pem))));
    }
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
