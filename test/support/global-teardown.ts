export { teardown as default } from "./root-firewall-guard";
