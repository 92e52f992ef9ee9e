//! The HTTP floor of the benchmark: an actix-web server that checks a Svix
//! signature with aws-lc's HMAC-SHA256 and answers 200, and does nothing else (no
//! broker, no logging, no metrics). `GET /readyz` answers 200.
//!
//! Environment: `CLERK_WEBHOOK_SIGNING_SECRET` (one `whsec_…`), `BIND_ADDR`.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use aws_lc_rs::hmac;
use base64::{engine::general_purpose::STANDARD, Engine};

fn verified(key: &hmac::Key, req: &HttpRequest, body: &[u8]) -> bool {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (h("svix-id"), h("svix-timestamp"), h("svix-signature"))
    else {
        return false;
    };
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(ts.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    sigs.split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|sig| sig.as_slice() == tag.as_ref())
    })
}

async fn receive(req: HttpRequest, body: web::Bytes, key: web::Data<hmac::Key>) -> HttpResponse {
    if verified(&key, &req, &body) {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::Unauthorized().finish()
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let secret = std::env::var("CLERK_WEBHOOK_SIGNING_SECRET").context("secret")?;
    let raw = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .context("secret is base64")?;
    let key = web::Data::new(hmac::Key::new(hmac::HMAC_SHA256, &raw));
    let bind = std::env::var("BIND_ADDR").context("BIND_ADDR")?;
    HttpServer::new(move || {
        App::new()
            .app_data(key.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/webhooks/clerk", web::post().to(receive))
            .route("/readyz", web::get().to(HttpResponse::Ok))
    })
    .bind(bind)?
    .run()
    .await?;
    Ok(())
}
