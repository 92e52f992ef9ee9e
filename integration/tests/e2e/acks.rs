//! Acks against the real broker: an ack never names a tag that was handed back.

use std::time::Duration;

use futures_util::StreamExt;
use integration::{unique, TestBroker};
use lapin::{
    options::{
        BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
    BasicProperties,
};
use worker::Acks;

#[tokio::test]
async fn settling_after_a_hand_back_keeps_the_channel_open() {
    let broker = TestBroker::new().await;
    let queue = format!("{}.acks-test", broker.prefix);
    let channel = broker.channel().await;
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    for n in 0..6 {
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                format!("message {n} {}", unique()).as_bytes(),
                BasicProperties::default(),
            )
            .await
            .expect("publish");
    }
    channel
        .basic_qos(10, BasicQosOptions::default())
        .await
        .expect("qos");
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "acks-test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let mut deliveries = Vec::new();
    while deliveries.len() < 6 {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("a delivery")
            .expect("stream open")
            .expect("delivery");
        deliveries.push(d);
    }
    let acks = Acks::new(channel.clone());
    acks.received(deliveries.iter().map(|d| d.delivery_tag));
    // A shutdown during an outage hands the last three back...
    for d in &deliveries[3..] {
        d.nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .expect("nack");
    }
    acks.returned(deliveries[3..].iter().map(|d| d.delivery_tag));
    // ...while the first three, committed, are settled.
    acks.settle(deliveries[..3].iter().map(|d| d.delivery_tag))
        .await
        .expect("ack sent");
    // An ack naming a handed-back tag would make the broker close the channel.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(channel.status().connected(), "the channel stays open");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("the channel still works");
}
