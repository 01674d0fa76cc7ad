/**
 * Summarises a ginkgo JSON report (`e2e.test`/`ginkgo --json-report`) of a node conformance run:
 * counts by state and, for each spec that did not pass, its name and the first line of its failure.
 * Usage: node dist/test/e2e/conformance-summary.js REPORT.json [OUT.json]
 */
import fs from 'fs';

interface SpecReport {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  RunTime: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}
interface SuiteReport {
  SuiteDescription: string;
  PreRunStats: { TotalSpecs: number; SpecsThatWillRun: number };
  RunTime: number;
  SpecReports: SpecReport[] | null;
}

export interface ConformanceSummary {
  suite: string;
  totalSpecs: number;
  selected: number;
  counts: Record<string, number>;
  runSeconds: number;
  notPassed: { spec: string; state: string; seconds: number; failure: string; at: string }[];
}

export function summarise(reports: SuiteReport[]): ConformanceSummary {
  const r = reports[0];
  if (!r) throw new Error('empty report');
  const specs = (r.SpecReports ?? []).filter((s) => s.LeafNodeType === 'It');
  const counts: Record<string, number> = {};
  for (const s of specs) counts[s.State] = (counts[s.State] ?? 0) + 1;
  const notPassed = specs
    .filter((s) => s.State !== 'passed' && s.State !== 'skipped')
    .map((s) => ({
      spec: [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' '),
      state: s.State,
      seconds: Math.round(s.RunTime / 1e8) / 10,
      // The first lines of the message, collapsed: gomega's `Expected` alone says nothing.
      failure: (s.Failure?.Message ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .slice(0, 4)
        .join(' ')
        .slice(0, 300),
      at: s.Failure?.Location ? `${s.Failure.Location.FileName}:${s.Failure.Location.LineNumber}` : '',
    }))
    .sort((a, b) => a.spec.localeCompare(b.spec));
  return {
    suite: r.SuiteDescription,
    totalSpecs: r.PreRunStats.TotalSpecs,
    selected: r.PreRunStats.SpecsThatWillRun,
    counts,
    runSeconds: Math.round(r.RunTime / 1e9),
    notPassed,
  };
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input) throw new Error('usage: conformance-summary REPORT.json [OUT.json]');
  const s = summarise(JSON.parse(fs.readFileSync(input, 'utf8')) as SuiteReport[]);
  if (output) fs.writeFileSync(output, `${JSON.stringify(s, null, 2)}\n`);
  console.log(
    `${s.selected} of ${s.totalSpecs} specs selected, ${s.runSeconds} s: ` +
      Object.entries(s.counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
  );
  for (const f of s.notPassed)
    console.log(`  ${f.state.toUpperCase()} ${f.spec}\n      ${f.failure} (${f.at})`);
}
