export { setup as default } from "./root-firewall-guard";
