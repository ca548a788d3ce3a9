/**
 * How Grafana 12.1 finds or makes the folders of provisioned alert rules and dashboards, as a
 * model the generator's test runs over the generated files (Grafana cannot run here):
 *
 * 1. Alerting is provisioned first (`RunInitProvisioners`, before the dashboards' `Run`).
 *    A rule group's `folder` is a title path (`AlertRuleGroupV1.Folder` → `FolderFullpath`;
 *    the file format has no folder uid); each title is looked up under its parent
 *    (`getOrCreateFolderByTitle`) and made, with a generated uid, when missing.
 * 2. The dashboard provider then looks its folder up by `folderUid` when set, by `folder` title
 *    otherwise (`FileReader.getOrCreateFolder`), and makes it when not found — with the uid asked
 *    for. Making a folder whose title a sibling already has is refused ("a folder with the same
 *    name already exists", grafana#87889) or, in some versions, gives a second folder of that
 *    name (grafana#125079); either way the dashboards are not beside the rules.
 */
export interface ProvisionedFolder {
  uid: string;
  title: string;
  /** What Grafana put in it. */
  holds: string[];
}

export interface FolderProvisioning {
  folders: ProvisionedFolder[];
  /** Errors Grafana would log (and stop provisioning on). */
  errors: string[];
}

interface RuleGroupsFile {
  groups: { name: string; folder?: string; folderUid?: string; folderUID?: string }[];
}
interface ProviderFile {
  providers: { name: string; folder?: string; folderUid?: string }[];
}

export function provisionFolders(
  rules: RuleGroupsFile,
  provider: ProviderFile,
): FolderProvisioning {
  const folders: ProvisionedFolder[] = [];
  const errors: string[] = [];
  let generated = 0;
  for (const group of rules.groups) {
    if (group.folderUid !== undefined || group.folderUID !== undefined) {
      // Unknown keys of the file are ignored by Grafana's YAML reader: the title still decides.
      errors.push(
        `rule group ${group.name}: alerting files have no folder uid (ignored by Grafana)`,
      );
    }
    const title = group.folder?.trim() ?? '';
    if (title === '') {
      errors.push(`rule group ${group.name}: rule group has no folder set`);
      continue;
    }
    let folder = folders.find((candidate) => candidate.title === title);
    if (!folder) {
      generated++;
      folder = { uid: `generated-${generated}`, title, holds: [] };
      folders.push(folder);
    }
    folder.holds.push(`rules:${group.name}`);
  }
  for (const one of provider.providers) {
    const title = one.folder ?? '';
    let folder = one.folderUid
      ? folders.find((candidate) => candidate.uid === one.folderUid)
      : folders.find((candidate) => candidate.title === title);
    if (!folder) {
      if (title === '') {
        errors.push(`dashboard provider ${one.name}: folder name missing`);
        continue;
      }
      if (folders.some((candidate) => candidate.title === title)) {
        errors.push(
          `dashboard provider ${one.name}: a folder with the same name already exists (${title})`,
        );
        continue;
      }
      generated++;
      folder = { uid: one.folderUid || `generated-${generated}`, title, holds: [] };
      folders.push(folder);
    }
    folder.holds.push(`dashboards:${one.name}`);
  }
  return { folders, errors };
}
