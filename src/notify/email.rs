//! E-mail notifications through the business's mail server (lettre over SMTP). The Message-ID is built
//! from the outbox's idempotency key, so a retried mail is recognisably the same mail.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::DeliveryError;
use crate::config::{SmtpSecurity, SmtpSettings};
use crate::tickets::outbox::{OutboxItem, TicketNotice};

/// A mail server that has not answered in this long is down for this try.
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(smtp: &SmtpSettings) -> Result<Self, DeliveryError> {
        let bad = |e: lettre::transport::smtp::Error| DeliveryError::Email(e.to_string());
        let builder = match smtp.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(bad)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(bad)?
            }
        };
        let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from = smtp
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                DeliveryError::Email(format!("from {:?}: {e}", smtp.from))
            })?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// One try: the server accepted the mail, or it did not (down, refused, timed out).
    pub async fn send(
        &self,
        item: &OutboxItem,
        notice: &TicketNotice,
    ) -> Result<String, DeliveryError> {
        let to = item
            .recipient
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                DeliveryError::Email(format!("to {:?}: {e}", item.recipient))
            })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(notice.subject())
            .message_id(Some(format!("<{}@switchboard>", item.idempotency)))
            .header(ContentType::TEXT_PLAIN)
            .body(notice.body())
            .map_err(|e| DeliveryError::Email(e.to_string()))?;
        let response = self
            .transport
            .send(message)
            .await
            .map_err(|e| DeliveryError::Email(e.to_string()))?;
        Ok(format!(
            "SMTP {}",
            response.message().collect::<Vec<_>>().join(" ")
        ))
    }
}
