import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's control for producer-loss-repro.ts: the same stream (batches of small
 * messages, one batch at a time, acks=all, idempotent) from Apache Kafka's own producer, run as a
 * single-file program: java -cp '.local/cache/kafka-4.4.0/libs/*' ProducerLossControl.java
 * BOOTSTRAP TOPIC BATCHES BATCH_SIZE PAUSE_MS. Prints "acknowledged N failed M".
 */
public class ProducerLossControl {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    int batches = Integer.parseInt(args[2]);
    int size = Integer.parseInt(args[3]);
    long pause = Long.parseLong(args[4]);
    Random random = new Random();
    long acknowledged = 0;
    long failed = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (int b = 0; b < batches; b++) {
        List<Future<RecordMetadata>> sends = new ArrayList<>();
        for (int i = 0; i < size; i++) {
          sends.add(producer.send(new ProducerRecord<>(args[1], "K-" + random.nextInt(1 << 24), "x".repeat(400))));
        }
        for (Future<RecordMetadata> send : sends) {
          try {
            send.get();
            acknowledged++;
          } catch (Exception error) {
            failed++;
          }
        }
        Thread.sleep(pause);
      }
    }
    System.out.println("acknowledged " + acknowledged + " failed " + failed);
  }
}
