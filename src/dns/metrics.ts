/**
 * The DNS server's Prometheus metrics under CoreDNS's own names and labels (the `prometheus`,
 * `cache` and `forward` plugins), so dashboards and alerts written for CoreDNS read them
 * unchanged: coredns_dns_requests_total, coredns_dns_responses_total,
 * coredns_dns_request_duration_seconds, coredns_dns_request_size_bytes,
 * coredns_dns_response_size_bytes, coredns_cache_{hits,misses}_total, coredns_cache_entries,
 * coredns_forward_{requests,responses}_total, coredns_forward_request_duration_seconds.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ForwardObserver } from './forward.js';

const durationBuckets = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
const sizeBuckets = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

export interface DNSMetrics {
  request(zone: string, proto: 'udp' | 'tcp', family: '1' | '2', type: string, size: number): void;
  response(zone: string, proto: 'udp' | 'tcp', type: string, rcode: string, plugin: string, size: number, seconds: number): void;
  forwardObserver: ForwardObserver;
}

/** Registers the metrics on registry for the server `server` ("dns://:53"). */
export function newDNSMetrics(registry: Registry, server: string): DNSMetrics {
  const registers = [registry];
  // A second server on the same registry (a restart within one process) shares the metrics;
  // its own `server` label keeps the series apart.
  const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const requests = reuse('coredns_dns_requests_total', () => new Counter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'], registers }));
  const responses = reuse('coredns_dns_responses_total', () => new Counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'], registers }));
  const duration = reuse('coredns_dns_request_duration_seconds', () => new Histogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.', labelNames: ['server', 'zone', 'view', 'type'], buckets: durationBuckets, registers }));
  const reqSize = reuse('coredns_dns_request_size_bytes', () => new Histogram({ name: 'coredns_dns_request_size_bytes', help: 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: sizeBuckets, registers }));
  const respSize = reuse('coredns_dns_response_size_bytes', () => new Histogram({ name: 'coredns_dns_response_size_bytes', help: 'Size of the returned response in bytes.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: sizeBuckets, registers }));
  const cacheHits = reuse('coredns_cache_hits_total', () => new Counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'], registers }));
  const cacheMisses = reuse('coredns_cache_misses_total', () => new Counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'], registers }));
  const cacheEntries = reuse('coredns_cache_entries', () => new Gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers }));
  const fwdRequests = reuse('coredns_forward_requests_total', () => new Counter({ name: 'coredns_forward_requests_total', help: 'Counter of requests made per upstream.', labelNames: ['to'], registers }));
  const fwdResponses = reuse('coredns_forward_responses_total', () => new Counter({ name: 'coredns_forward_responses_total', help: 'Counter of responses received per upstream.', labelNames: ['to', 'rcode'], registers }));
  const fwdDuration = reuse('coredns_forward_request_duration_seconds', () => new Histogram({ name: 'coredns_forward_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['to', 'rc'], buckets: durationBuckets, registers }));
  return {
    request(zone, proto, family, type, size) {
      requests.inc({ server, zone, view: '', proto, family, type });
      reqSize.observe({ server, zone, view: '', proto }, size);
    },
    response(zone, proto, type, rcode, plugin, size, seconds) {
      responses.inc({ server, zone, view: '', rcode, plugin });
      respSize.observe({ server, zone, view: '', proto }, size);
      duration.observe({ server, zone, view: '', type }, seconds);
    },
    forwardObserver: {
      request: (to) => fwdRequests.inc({ to }),
      response: (to, rcode, seconds) => {
        fwdResponses.inc({ to, rcode });
        fwdDuration.observe({ to, rc: rcode }, seconds);
      },
      cacheHit: () => cacheHits.inc({ server, type: 'success', zones: '.', view: '' }),
      cacheMiss: () => cacheMisses.inc({ server, zones: '.', view: '' }),
      cacheSize: (n) => cacheEntries.set({ server, type: 'success', zones: '.', view: '' }, n),
    },
  };
}
