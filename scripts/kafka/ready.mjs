// Readiness probe for scripts/kafka-local start: exits 0 once a metadata request (describeCluster) works and
// the group coordinator answers (describeGroups creates __consumer_offsets, so the first consumer group of a
// test does not pay for it). One try, bounded to a few seconds; the caller retries.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? '127.0.0.1:9092';
const kafka = new Kafka({
  clientId: 'kafka-local-ready',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
});
const admin = kafka.admin();
const timer = setTimeout(() => {
  console.error(`${new Date().toISOString()} not ready: probe timed out`);
  process.exit(1);
}, 10_000);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  await admin.describeGroups(['kafka-local-ready']);
  await admin.disconnect();
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  console.error(`${new Date().toISOString()} not ready: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
