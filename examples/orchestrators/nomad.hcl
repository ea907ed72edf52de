# SPDX-License-Identifier: ISC
#
# corral under Nomad, with the image of Dockerfile: one corrald per
# allocation. The service check on /readyz keeps an allocation out of the
# service while an instance is missing; check_restart restarts the task
# when /healthz stops answering. cpu_hard_limit gives the container a CPU
# quota, which instances = max in corral.ini follows. nomad job run nomad.hcl
job "corral-web" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    count = 2

    network {
      port "http" {
        to = 8080
      }
      port "metrics" {
        to = 9100
      }
    }

    service {
      name = "corral-web"
      port = "http"
      tags = ["corral"]

      check {
        name     = "ready"
        type     = "http"
        port     = "metrics"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }
    }

    service {
      name = "corral-web-metrics"
      port = "metrics"
      tags = ["prometheus"]

      check {
        name     = "alive"
        type     = "http"
        port     = "metrics"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    task "corral" {
      driver = "docker"
      # longer than the apps' kill_timeout: corrald stops them gracefully
      kill_timeout = "30s"

      config {
        image          = "corral-example:latest"
        ports          = ["http", "metrics"]
        cpu_hard_limit = true
      }

      env {
        CORRAL_METRICS = "0.0.0.0:9100"
      }

      resources {
        cpu    = 2000
        memory = 512
      }
    }
  }
}
