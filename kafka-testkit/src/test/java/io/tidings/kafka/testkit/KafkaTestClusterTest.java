package io.tidings.kafka.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The fixture itself: three real brokers, a leader SIGKILLed, another elected, the old one back. */
class KafkaTestClusterTest {

    @Test
    void threeNodesSurviveTheLossOfTheLeader() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(3)) {
            assertThat(kafka.nodeIds()).containsExactly(1, 2, 3);
            kafka.createTopic("t", 3, 2);
            kafka.awaitInSync("t", 0);
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                RecordMetadata first = producer.send(new ProducerRecord<>("t", "a")).get(30, TimeUnit.SECONDS);
                assertThat(first.offset()).isZero();

                int leader = kafka.leaderOf("t", 0);
                assertThat(leader).isIn(1, 2, 3);
                kafka.kill(leader);
                assertThat(kafka.isRunning(leader)).isFalse();

                RecordMetadata second = producer.send(new ProducerRecord<>("t", "b")).get(60, TimeUnit.SECONDS);
                assertThat(second.offset()).isEqualTo(1);
                int newLeader = kafka.leaderOf("t", 0);
                assertThat(newLeader).isIn(1, 2, 3).isNotEqualTo(leader);

                kafka.restart(leader);
                assertThat(kafka.isRunning(leader)).isTrue();
                kafka.awaitInSync("t", 0);
            }
            assertThat(kafka.dir()).exists();
        }
    }
}
