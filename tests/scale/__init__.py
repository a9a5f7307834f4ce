"""The scale scenario: worker groups on separate network namespaces, one killed midway, audited."""
