//! SAML response validation cost: Lanyard's full validation of a signed ~5 KB response
//! (parse, structure and signature-shape checks, xmlsec verification keeping the pre-digest
//! bytes of the signed element, their parse, conditions, attribute extraction) next to a bare
//! libxmlsec1 verification of the same document. `cargo bench --bench saml`; figures in
//! BENCHMARKS.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use lanyard::clock::UnixTime;
use samael::crypto::{Crypto, CryptoProvider};

#[allow(dead_code)]
#[path = "../tests/it/saml_support.rs"]
mod saml_support;

use saml_support::{Shape, connector, fixture, signed};

const NOW: i64 = 1_795_824_000;

fn bench(c: &mut Criterion) {
    let mut shape = Shape::valid(NOW);
    shape.padding_attributes = 8;
    let xml = signed(&shape);
    eprintln!("response size: {} bytes", xml.len());
    let conn = connector("allow_idp_initiated = true");
    conn.verify_xml(xml.as_bytes(), UnixTime::from_secs(NOW))
        .expect("the bench response is valid");
    let pem = std::fs::read(fixture("idp1.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap()
        .into();
    Crypto::verify_signed_xml(xml.as_bytes(), &der, Some("ID")).expect("xmlsec verifies");

    let mut g = c.benchmark_group("saml");
    g.bench_function("lanyard_full_validation_5k", |b| {
        b.iter(|| {
            conn.verify_xml(
                std::hint::black_box(xml.as_bytes()),
                UnixTime::from_secs(NOW),
            )
            .unwrap()
        })
    });
    g.bench_function("xmlsec_verify_only_5k", |b| {
        b.iter(|| {
            Crypto::verify_signed_xml(std::hint::black_box(xml.as_bytes()), &der, Some("ID"))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
