/**
 * What the Grafana dashboards and the Prometheus configs shipped in the images say, read the way the
 * tests need it: every PromQL expression of a dashboard, with Grafana's interval macros replaced by
 * durations Prometheus accepts, and a scrape config re-pointed at local addresses.
 */
import { parse, stringify } from 'yaml';

interface Panel {
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
  title?: string;
}

/** Every `expr` of every panel (rows included), with the panel title, for one dashboard JSON. */
export function dashboardQueries(json: string): { panel: string; expr: string }[] {
  const dash = JSON.parse(json) as { panels?: Panel[] };
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

/** Grafana's macros → concrete durations (Grafana computes them from the time range and scrape interval). */
export function expandGrafanaMacros(expr: string, rateInterval = '15s'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', rateInterval)
    .replaceAll('$__range', '5m');
}

/** Metric names an expression reads (identifiers followed by `{`, `[`, `)` or the end, minus functions). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(sensorfleet_[a-z0-9_]+|mysql_[a-z0-9_]+|broker_[a-z0-9_]+|up)\b/g))
    names.add(m[1]!);
  return [...names];
}

/**
 * A Prometheus config with each static target replaced through `targets` (every target must have a
 * replacement: a job the test forgot is an error) and, optionally, a shorter scrape interval so a test
 * sees several samples within seconds. Everything else (jobs, paths, relabelling) stays as shipped.
 */
export function renderScrapeConfig(
  yamlText: string,
  targets: Record<string, string>,
  o: { scrapeInterval?: string } = {},
): string {
  const config = parse(yamlText) as {
    global?: Record<string, unknown>;
    scrape_configs: {
      job_name: string;
      static_configs?: { targets: string[] }[];
      scrape_interval?: string;
      scrape_timeout?: string;
    }[];
  };
  for (const job of config.scrape_configs) {
    if (o.scrapeInterval) {
      delete job.scrape_interval;
      delete job.scrape_timeout;
    }
    for (const sc of job.static_configs ?? []) {
      sc.targets = sc.targets.map((t) => {
        const local = targets[t];
        if (!local) throw new Error(`job ${job.job_name}: no local address for target ${t}`);
        return local;
      });
    }
  }
  if (o.scrapeInterval) {
    config.global = { ...config.global, scrape_interval: o.scrapeInterval, scrape_timeout: o.scrapeInterval };
  }
  return stringify(config);
}
